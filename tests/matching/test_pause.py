"""Pause: `"discoverable": false` takes a profile out of every feed and likes-you, keeps its
matches and chats, and `true` brings it back."""

from __future__ import annotations

from tests.chat.conftest import make_match
from tests.matching.conftest import ids


async def set_discoverable(client, user, value: bool) -> dict:
    answer = await client.put("/api/v1/profile/me", json={"discoverable": value}, headers=user.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["profile"]


async def likes_you(client, user) -> dict:
    return (await client.get("/api/v1/matching/likes-you", headers=user.headers)).json()


async def test_a_profile_is_discoverable_until_paused(member, client):
    me = await member()
    assert (await client.get("/api/v1/profile/me", headers=me.headers)).json()["profile"]["discoverable"] is True
    assert (await set_discoverable(client, me, False))["discoverable"] is False
    assert (await client.get("/api/v1/profile/me", headers=me.headers)).json()["profile"]["discoverable"] is False


async def test_pausing_keeps_the_rest_of_the_profile(member, client):
    me = await member(first_name="Ana", interests=["jazz"])
    profile = await set_discoverable(client, me, False)
    assert profile["first_name"] == "Ana" and profile["interests"] == ["jazz"] and profile["is_complete"] is True


async def test_a_paused_profile_leaves_the_feed_after_the_index_refresh(member, client, feed):
    viewer, them = await member(), await member()
    assert them.id in ids(await feed(viewer))
    await set_discoverable(client, them, False)
    assert them.id not in ids(await feed(viewer))


async def test_a_page_leaves_out_a_paused_profile_the_index_still_holds(member, client, feed):
    viewer, them = await member(), await member()
    assert them.id in ids(await feed(viewer))
    await set_discoverable(client, them, False)
    assert them.id not in ids(await feed(viewer, refresh=False))


async def test_switching_it_back_on_returns_the_profile_to_the_feed(member, client, feed):
    viewer, them = await member(), await member()
    await set_discoverable(client, them, False)
    assert them.id not in ids(await feed(viewer))
    await set_discoverable(client, them, True)
    assert them.id in ids(await feed(viewer))


async def test_a_paused_admirer_leaves_likes_you_and_comes_back(member, client, swipe, make_premium):
    me, admirer = await member(), await member()
    await make_premium(me)
    await swipe(admirer, me, "like")
    await set_discoverable(client, admirer, False)
    assert (await likes_you(client, me))["count"] == 0 and (await likes_you(client, me))["users"] == []
    await set_discoverable(client, admirer, True)
    assert [u["id"] for u in (await likes_you(client, me))["users"]] == [str(admirer.id)]


async def test_a_paused_user_keeps_their_matches_and_chats(member, client, db):
    me, them = await member(), await member()
    match_id = await make_match(db, me, them)
    await set_discoverable(client, them, False)
    matches = (await client.get("/api/v1/matching/matches", headers=me.headers)).json()["matches"]
    assert [m["id"] for m in matches] == [str(match_id)]
    for sender in (me, them):
        sent = await client.post(
            "/api/v1/messages/send", headers=sender.headers, json={"match_id": str(match_id), "content": "still here"}
        )
        assert sent.status_code == 200, sent.text


async def test_discoverable_must_be_a_boolean(member, client):
    me = await member()
    answer = await client.put("/api/v1/profile/me", json={"discoverable": "no"}, headers=me.headers)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error"
