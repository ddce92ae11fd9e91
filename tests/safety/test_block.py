"""POST/GET/DELETE /api/v1/safety/block(s): two-way blocks that end the match."""

from __future__ import annotations

import uuid

from tests.factories import login
from tests.safety.conftest import make_match


async def block(client, who, whom):
    return await client.post("/api/v1/safety/block", json={"user_id": str(whom.id)}, headers=who.headers)


async def test_block_answers_with_the_seed_shape_and_stores_one_row(client, alice, bob, db):
    response = await block(client, alice, bob)
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "User blocked successfully"}
    rows = await db.fetch("SELECT blocker_id, blocked_id FROM blocks")
    assert [(r["blocker_id"], r["blocked_id"]) for r in rows] == [(alice.id, bob.id)]


async def test_blocking_twice_is_idempotent(client, alice, bob, db):
    assert (await block(client, alice, bob)).status_code == 200
    assert (await block(client, alice, bob)).status_code == 200
    assert await db.fetchval("SELECT count(*) FROM blocks") == 1


async def test_blocking_yourself_is_a_422(client, alice, db):
    response = await block(client, alice, alice)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "cannot_block_self"
    assert await db.fetchval("SELECT count(*) FROM blocks") == 0


async def test_blocking_an_unknown_user_is_a_404(client, alice):
    response = await client.post("/api/v1/safety/block", json={"user_id": str(uuid.uuid4())}, headers=alice.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "user_not_found"


async def test_block_body_is_validated(client, alice):
    assert (
        await client.post("/api/v1/safety/block", json={"user_id": "nope"}, headers=alice.headers)
    ).status_code == 422
    assert (
        await client.post("/api/v1/safety/block", json={"user_id": str(alice.id), "x": 1}, headers=alice.headers)
    ).status_code == 422


async def test_block_requires_a_login(client, bob):
    response = await client.post("/api/v1/safety/block", json={"user_id": str(bob.id)})
    assert response.status_code == 401


async def test_block_ends_the_active_match_and_tells_both(client, alice, bob, db, inbox):
    match_id = await make_match(db, alice, bob)
    async with inbox(alice, bob) as events:
        assert (await block(client, alice, bob)).status_code == 200
        heard = await events.drain()
    assert sorted((u, d["match_id"]) for u, e, d in heard if e == "match_removed") == sorted(
        [(alice.id, str(match_id)), (bob.id, str(match_id))]
    )
    row = await db.fetchrow(
        "SELECT is_active, end_reason, unmatched_at, unmatched_by FROM matches WHERE id = $1", match_id
    )
    assert row["is_active"] is False and row["end_reason"] == "blocked"
    assert row["unmatched_at"] is not None and row["unmatched_by"] == alice.id


async def test_the_blocked_side_blocking_back_ends_nothing_new_and_announces_nothing(client, alice, bob, db, inbox):
    await make_match(db, alice, bob)
    await block(client, alice, bob)
    async with inbox(alice, bob) as events:
        assert (await block(client, bob, alice)).status_code == 200
        assert [e for _, e, _ in await events.drain() if e == "match_removed"] == []
    assert await db.fetchval("SELECT count(*) FROM blocks") == 2


async def test_block_tells_every_replica_to_stop_events_between_the_two(client, alice, bob, inbox):
    async with inbox(alice, bob) as events:
        await block(client, alice, bob)
        heard = await events.drain()
    assert sorted((u, d["user_id"]) for u, e, d in heard if e == "_blocked") == sorted(
        [(alice.id, str(bob.id)), (bob.id, str(alice.id))]
    )


async def test_block_leaves_other_matches_alone(client, alice, bob, settings, db):
    carol = await login(client, settings.sms_outbox)
    other = await make_match(db, alice, carol)
    await make_match(db, alice, bob)
    await block(client, alice, bob)
    assert await db.fetchval("SELECT is_active FROM matches WHERE id = $1", other) is True


async def test_blocks_list_shows_only_id_and_first_name(client, alice, bob):
    await block(client, alice, bob)
    response = await client.get("/api/v1/safety/blocks", headers=alice.headers)
    assert response.status_code == 200
    assert response.json() == {"success": True, "blocks": [{"id": str(bob.id), "first_name": "Bob"}]}


async def test_blocks_list_is_only_whom_you_blocked(client, alice, bob):
    await block(client, alice, bob)
    response = await client.get("/api/v1/safety/blocks", headers=bob.headers)
    assert response.json()["blocks"] == []


async def test_unblock_removes_the_block_but_does_not_restore_the_match(client, alice, bob, db):
    match_id = await make_match(db, alice, bob)
    await block(client, alice, bob)
    response = await client.delete(f"/api/v1/safety/block/{bob.id}", headers=alice.headers)
    assert response.status_code == 200 and response.json()["success"] is True
    assert await db.fetchval("SELECT count(*) FROM blocks") == 0
    assert await db.fetchval("SELECT is_active FROM matches WHERE id = $1", match_id) is False


async def test_the_blocked_user_cannot_lift_the_block(client, alice, bob, db):
    await block(client, alice, bob)
    response = await client.delete(f"/api/v1/safety/block/{alice.id}", headers=bob.headers)
    assert response.status_code == 404
    assert await db.fetchval("SELECT count(*) FROM blocks") == 1


async def test_unblocking_someone_not_blocked_is_a_404(client, alice, bob):
    response = await client.delete(f"/api/v1/safety/block/{bob.id}", headers=alice.headers)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_blocked"
