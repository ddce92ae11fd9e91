"""GET /api/v1/profile/{user_id}: another user's profile, for those the caller may see (a current
match, someone their feed showed, or, premium, someone in likes-you); anyone else answers exactly
like an unknown id."""

from __future__ import annotations

import uuid

from tests.chat.conftest import make_match
from tests.factories import login
from tests.matching.conftest import here


async def person(client, viewer, target_id):
    return await client.get(f"/api/v1/profile/{target_id}", headers=viewer.headers)


async def unknown(client, viewer):
    return await person(client, viewer, uuid.uuid4())


async def assert_like_unknown(client, viewer, target) -> None:
    """The answer about `target` is byte for byte the answer about an id nobody has."""
    seen, nobody = await person(client, viewer, target.id), await unknown(client, viewer)
    assert seen.status_code == nobody.status_code == 404
    assert seen.content == nobody.content
    assert seen.json()["error"]["code"] == "user_not_found"
    assert {k: v for k, v in seen.headers.items() if k != "date"} == {
        k: v for k, v in nobody.headers.items() if k != "date"
    }


async def test_a_match_sees_the_feed_cards_fields_and_nothing_else(member, client, db):
    me = await member(interests=["jazz", "climbing"])
    them = await member(first_name="Jane", bio="Designer", interests=["travel", "jazz"])
    await make_match(db, me, them)
    answer = await person(client, me, them.id)
    assert answer.status_code == 200, answer.text
    profile = answer.json()["profile"]
    assert set(profile) == {"id", "first_name", "age", "bio", "distance_km", "photos", "interests", "mutual_interests"}
    assert profile["first_name"] == "Jane" and profile["bio"] == "Designer"
    assert sorted(profile["interests"]) == ["jazz", "travel"] and profile["mutual_interests"] == ["jazz"]


async def test_the_answer_never_carries_coordinates_or_a_phone_number(member, client, db):
    me, them = await member(), await member(location=here(40.7411, -73.9897))
    await make_match(db, me, them)
    text = (await person(client, me, them.id)).text
    assert "40.74" not in text and "73.98" not in text and them.phone not in text and them.phone[1:] not in text


async def test_a_candidate_the_feed_showed_is_visible_with_the_cards_distance(member, client, feed):
    me = await member(location=here(40.7128, -74.0060))
    them = await member(location=here(40.7411, -73.9897))
    [card] = [c for c in await feed(me) if c["id"] == str(them.id)]
    profile = (await person(client, me, them.id)).json()["profile"]
    assert {k: profile[k] for k in card} == card


async def test_a_premium_caller_sees_someone_in_likes_you(member, client, swipe, make_premium):
    me, admirer = await member(), await member()
    await make_premium(me)
    await swipe(admirer, me, "like")
    assert (await person(client, me, admirer.id)).status_code == 200


async def test_a_free_caller_does_not_see_someone_in_likes_you(member, client, swipe):
    me, admirer = await member(), await member()
    await swipe(admirer, me, "like")
    await assert_like_unknown(client, me, admirer)


async def test_someone_never_shown_is_like_an_unknown_id(member, client):
    me, stranger = await member(), await member()
    await assert_like_unknown(client, me, stranger)


async def test_an_ended_match_is_like_an_unknown_id(member, client, db):
    me, them = await member(), await member()
    await make_match(db, me, them, active=False)
    await assert_like_unknown(client, me, them)


async def test_a_block_either_way_is_like_an_unknown_id(member, client, db, block):
    me, blocked, blocker = await member(), await member(), await member()
    for other in (blocked, blocker):
        await make_match(db, me, other)
    await block(me, blocked)
    await block(blocker, me)
    await assert_like_unknown(client, me, blocked)
    await assert_like_unknown(client, me, blocker)


async def test_a_banned_hidden_or_deleted_match_is_like_an_unknown_id(member, client, db):
    me = await member()
    gone = {column: await member() for column in ("banned_at", "hidden_at", "deleted_at")}
    for column, other in gone.items():
        await make_match(db, me, other)
        await db.execute(f"UPDATE users SET {column} = now() WHERE id = $1", other.id)
    for other in gone.values():
        await assert_like_unknown(client, me, other)


async def test_a_paused_match_is_like_an_unknown_id(member, client, db):
    me, them = await member(), await member()
    await make_match(db, me, them)
    paused = await client.put("/api/v1/profile/me", json={"discoverable": False}, headers=them.headers)
    assert paused.status_code == 200
    await assert_like_unknown(client, me, them)


async def test_the_caller_themselves_is_like_an_unknown_id(member, client):
    me = await member()
    await assert_like_unknown(client, me, me)


async def test_the_route_leaves_profile_me_and_photos_alone(member, client):
    me = await member()
    assert (await client.get("/api/v1/profile/me", headers=me.headers)).json()["profile"]["id"] == str(me.id)
    assert (await client.get("/api/v1/profile/photos", headers=me.headers)).json() == {"success": True, "photos": []}


async def test_it_needs_a_login(member, client):
    them = await member()
    assert (await client.get(f"/api/v1/profile/{them.id}")).status_code == 401


async def test_a_caller_without_a_location_sees_no_distance(member, client, db, settings):
    me, them = await login(client, settings.sms_outbox), await member()
    await make_match(db, me, them)
    answer = await person(client, me, them.id)
    assert answer.status_code == 200 and answer.json()["profile"]["distance_km"] is None
