"""Premium features: see who liked you, and rewind."""

from __future__ import annotations

from tests.matching.conftest import ids


async def likes_you(client, user) -> dict:
    response = await client.get("/api/v1/matching/likes-you", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_free_users_see_only_how_many_liked_them(member, swipe, client):
    me = await member()
    for _ in range(2):
        await swipe(await member(), me, "like")
    await swipe(await member(), me, "pass")
    body = await likes_you(client, me)
    assert body == {"success": True, "count": 2, "is_premium": False, "users": None, "next_offset": None}


async def test_premium_users_see_the_people_newest_first(member, swipe, client, make_premium):
    me = await member()
    await make_premium(me)
    first = await member(first_name="First")
    second = await member(first_name="Second")
    await swipe(first, me, "like")
    await swipe(second, me, "like")
    body = await likes_you(client, me)
    assert body["is_premium"] is True and body["count"] == 2
    assert [u["first_name"] for u in body["users"]] == ["Second", "First"]
    assert set(body["users"][0]) == {"id", "first_name", "age", "photos", "liked_at"}


async def test_people_you_swiped_back_or_who_are_blocked_are_not_listed(member, swipe, client, make_premium, block):
    me = await member()
    await make_premium(me)
    answered, blocked, waiting = await member(), await member(), await member()
    for admirer in (answered, blocked, waiting):
        await swipe(admirer, me, "like")
    await swipe(me, answered, "pass")
    await block(me, blocked)
    body = await likes_you(client, me)
    assert body["count"] == 1 and [u["id"] for u in body["users"]] == [str(waiting.id)]


async def test_rewind_is_premium_only(member, swipe, client):
    me, other = await member(), await member()
    await swipe(me, other, "pass")
    response = await client.post("/api/v1/matching/rewind", headers=me.headers)
    assert response.status_code == 403 and response.json()["error"]["code"] == "premium_required"


async def test_rewind_undoes_the_last_swipe_and_the_person_returns_to_the_feed(
    member, swipe, client, make_premium, feed, db
):
    me = await member()
    await make_premium(me)
    earlier, last = await member(), await member()
    await swipe(me, earlier, "like")
    await swipe(me, last, "pass")
    response = await client.post("/api/v1/matching/rewind", headers=me.headers)
    assert response.status_code == 200
    assert response.json() == {"success": True, "rewound": {"target_user_id": str(last.id), "action": "pass"}}
    assert await db.fetchval("SELECT count(*) FROM swipes WHERE swiper_id = $1", me.id) == 1
    assert ids(await feed(me)) == [last.id]
    assert (await swipe(me, last, "like")).status_code == 200  # a different decision this time


async def test_a_swipe_that_made_a_match_cannot_be_rewound(member, swipe, client, make_premium):
    me, other = await member(), await member()
    await make_premium(me)
    await swipe(other, me, "like")
    assert (await swipe(me, other, "like")).json()["is_match"] is True
    response = await client.post("/api/v1/matching/rewind", headers=me.headers)
    assert response.status_code == 409 and response.json()["error"]["code"] == "rewind_not_possible"


async def test_rewind_with_nothing_to_undo_is_a_404(member, client, make_premium):
    me = await member()
    await make_premium(me)
    response = await client.post("/api/v1/matching/rewind", headers=me.headers)
    assert response.status_code == 404 and response.json()["error"]["code"] == "nothing_to_rewind"


async def test_a_rewound_like_no_longer_counts_as_liking_them(member, swipe, client, make_premium):
    me, admirer = await member(), await member()
    await make_premium(admirer)
    await swipe(admirer, me, "like")
    assert (await likes_you(client, me))["count"] == 1
    assert (await client.post("/api/v1/matching/rewind", headers=admirer.headers)).status_code == 200
    assert (await likes_you(client, me))["count"] == 0
    assert (await swipe(me, admirer, "like")).json()["is_match"] is False
