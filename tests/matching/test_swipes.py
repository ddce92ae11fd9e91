"""POST /api/v1/matching/swipe: likes, passes, matches and the daily like limit."""

from __future__ import annotations

import asyncio
import uuid

from deployments.backends import Backends
from deployments.realtime.bus import user_channel


async def test_a_like_without_a_like_back_is_not_a_match(member, swipe, db):
    alice, bob = await member(), await member()
    response = await swipe(alice, bob, "like")
    assert response.status_code == 200
    assert response.json() == {"success": True, "is_match": False}
    assert (
        await db.fetchval("SELECT action FROM swipes WHERE swiper_id = $1 AND swiped_id = $2", alice.id, bob.id)
        == "like"
    )


async def test_a_like_back_makes_exactly_one_match(member, swipe, db):
    alice, bob = await member(), await member()
    await swipe(alice, bob, "like")
    body = (await swipe(bob, alice, "like")).json()
    assert body["success"] is True and body["is_match"] is True
    row = await db.fetchrow("SELECT * FROM matches")
    assert row["id"] == uuid.UUID(body["match_id"]) and row["is_active"] is True
    assert {row["user1_id"], row["user2_id"]} == {alice.id, bob.id} and str(row["user1_id"]) < str(row["user2_id"])


async def test_a_pass_never_makes_a_match(member, swipe, db):
    alice, bob = await member(), await member()
    await swipe(alice, bob, "like")
    assert (await swipe(bob, alice, "pass")).json() == {"success": True, "is_match": False}
    assert await db.fetchval("SELECT count(*) FROM matches") == 0


async def test_simultaneous_mutual_likes_make_one_match_and_both_are_told(member, swipe, db):
    for _ in range(3):
        alice, bob = await member(), await member()
        first, second = await asyncio.gather(swipe(alice, bob, "like"), swipe(bob, alice, "like"))
        assert first.status_code == second.status_code == 200
        answers = [first.json(), second.json()]
        assert any(a["is_match"] for a in answers)
        assert (
            await db.fetchval("SELECT count(*) FROM matches WHERE user1_id = ANY($1::uuid[])", [alice.id, bob.id]) == 1
        )
        match_id = await db.fetchval("SELECT id FROM matches WHERE user1_id = ANY($1::uuid[])", [alice.id, bob.id])
        assert all(uuid.UUID(a["match_id"]) == match_id for a in answers if a["is_match"])


async def test_a_new_match_is_published_to_both_people_about_the_other(member, swipe, inbox):
    alice = await member(first_name="Alice")
    bob = await member(first_name="Bob")
    await inbox.listen(alice, bob)
    await swipe(alice, bob, "like")
    match_id = (await swipe(bob, alice, "like")).json()["match_id"]
    frames = await inbox.collect(2)
    events = {channel: frame for channel, frame in frames}
    assert set(events) == {user_channel(alice.id), user_channel(bob.id)}
    to_alice = events[user_channel(alice.id)]
    assert to_alice["event"] == "new_match" and to_alice["data"]["match_id"] == match_id
    assert to_alice["data"]["user"] == {"id": str(bob.id), "first_name": "Bob", "photos": []}
    assert to_alice["data"]["matched_at"]
    assert events[user_channel(bob.id)]["data"]["user"]["first_name"] == "Alice"


async def test_the_new_match_event_writes_matched_at_as_the_matches_list_does(member, swipe, inbox, client):
    alice, bob = await member(), await member()
    await inbox.listen(alice)
    await swipe(alice, bob, "like")
    await swipe(bob, alice, "like")
    [(_, event)] = await inbox.collect(1)
    [listed] = (await client.get("/api/v1/matching/matches", headers=alice.headers)).json()["matches"]
    assert event["data"]["matched_at"] == listed["matched_at"]  # one timestamp format for the app to parse


async def test_repeating_a_swipe_is_idempotent(member, swipe, db):
    alice, bob = await member(), await member()
    await swipe(bob, alice, "like")
    first = (await swipe(alice, bob, "like")).json()
    again = (await swipe(alice, bob, "like")).json()
    assert first == again and first["is_match"] is True
    assert await db.fetchval("SELECT count(*) FROM swipes WHERE swiper_id = $1", alice.id) == 1
    assert await db.fetchval("SELECT count(*) FROM matches") == 1


async def test_changing_a_swipe_is_a_conflict(member, swipe):
    alice, bob = await member(), await member()
    await swipe(alice, bob, "pass")
    response = await swipe(alice, bob, "like")
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_swiped"


async def test_an_unknown_action_is_a_422(member, client):
    alice, bob = await member(), await member()
    response = await client.post(
        "/api/v1/matching/swipe", headers=alice.headers, json={"target_user_id": str(bob.id), "action": "superlike"}
    )
    assert response.status_code == 422 and response.json()["success"] is False


async def test_unknown_fields_are_refused(member, client):
    alice, bob = await member(), await member()
    response = await client.post(
        "/api/v1/matching/swipe",
        headers=alice.headers,
        json={"target_user_id": str(bob.id), "action": "like", "is_match": True},
    )
    assert response.status_code == 422


async def test_swiping_yourself_is_a_422(member, swipe):
    alice = await member()
    response = await swipe(alice, alice, "like")
    assert response.status_code == 422 and response.json()["error"]["code"] == "cannot_swipe_self"


async def test_swiping_an_unknown_or_deleted_user_is_a_404(member, swipe, db):
    alice, gone = await member(), await member()
    assert (await swipe(alice, uuid.uuid4())).status_code == 404
    await db.execute("UPDATE users SET deleted_at = now() WHERE id = $1", gone.id)
    assert (await swipe(alice, gone)).status_code == 404


async def test_swiping_across_a_block_is_a_404_in_both_directions(member, swipe, block, db):
    alice, bob, carol = await member(), await member(), await member()
    await block(alice, bob)
    await block(carol, alice)
    for target in (bob, carol):
        response = await swipe(alice, target, "like")
        assert response.status_code == 404 and response.json()["error"]["code"] == "user_not_found"
    assert await db.fetchval("SELECT count(*) FROM swipes") == 0


async def test_free_users_get_a_daily_like_limit_with_retry_after(member, swipe, settings, db):
    settings.free_daily_likes = 3
    alice = await member()
    targets = [await member() for _ in range(5)]
    for target in targets[:3]:
        assert (await swipe(alice, target, "like")).status_code == 200
    refused = await swipe(alice, targets[3], "like")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "like_limit_reached" and "more from" in error["message"]
    assert 23 * 3600 < int(refused.headers["Retry-After"]) <= 24 * 3600 + 1
    assert (await swipe(alice, targets[4], "pass")).status_code == 200  # passes are free
    assert await db.fetchval("SELECT count(*) FROM swipes WHERE swiper_id = $1 AND action = 'like'", alice.id) == 3


async def test_likes_older_than_24_hours_no_longer_count(member, swipe, settings, db):
    settings.free_daily_likes = 2
    alice = await member()
    old, newer, fresh = await member(), await member(), await member()
    await swipe(alice, old, "like")
    await swipe(alice, newer, "like")
    await db.execute("UPDATE swipes SET created_at = now() - interval '25 hours' WHERE swiped_id = $1", old.id)
    await swipe(alice, old, "like")  # an idempotent repeat costs nothing
    assert (await swipe(alice, fresh, "like")).status_code == 200


async def test_concurrent_likes_cannot_overrun_the_limit(member, swipe, settings, db):
    settings.free_daily_likes = 2
    alice = await member()
    targets = [await member() for _ in range(6)]
    answers = await asyncio.gather(*(swipe(alice, t, "like") for t in targets))
    assert sorted(a.status_code for a in answers) == [200, 200, 429, 429, 429, 429]
    assert await db.fetchval("SELECT count(*) FROM swipes WHERE swiper_id = $1", alice.id) == 2


async def test_premium_users_have_unlimited_likes(member, swipe, settings, make_premium):
    settings.free_daily_likes = 1
    alice = await member()
    await make_premium(alice)
    for _ in range(3):
        assert (await swipe(alice, await member(), "like")).status_code == 200


async def test_a_stale_shard_cache_never_allows_an_extra_like(member, swipe, settings, app, db):
    settings.free_daily_likes = 2
    alice = await member()
    a, b, c = await member(), await member(), await member()
    await swipe(alice, a, "like")
    shard = app.state.resources.get(Backends).user_shards.for_key(alice.id)
    assert (await shard.snapshot.remote(str(alice.id)))["likes_24h"] == 1
    # A like the cache never heard of (another gateway, a lost update): PostgreSQL still counts it.
    await db.execute("INSERT INTO swipes (swiper_id, swiped_id, action) VALUES ($1, $2, 'like')", alice.id, b.id)
    assert (await swipe(alice, c, "like")).status_code == 429
