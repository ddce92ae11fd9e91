"""The send statement (authorise + next seq + store, one round trip) under concurrency, on the
websocket's raw pool and inside a request's unit of work."""

from __future__ import annotations

import asyncio
import uuid

from deployments.chat.repository import ChatRepository
from models import canonical_pair


async def _match(db) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    a, b = uuid.uuid4(), uuid.uuid4()
    for user in (a, b):
        await db.execute(
            "INSERT INTO users (id, phone_number, is_verified) VALUES ($1, $2, true)",
            user,
            f"+1202555{uuid.uuid4().int % 10_000:04d}",
        )
    user1, user2 = canonical_pair(a, b)
    match_id = await db.fetchval("INSERT INTO matches (user1_id, user2_id) VALUES ($1, $2) RETURNING id", user1, user2)
    return a, b, match_id


async def _send(app, match_id, sender, content, client_message_id=None):
    async with app.state.resources.sessionmaker() as session:
        return await ChatRepository(session, app.state.resources.pg).claim_and_insert(
            match_id, sender, content, "text", client_message_id
        )


async def test_concurrent_sends_take_consecutive_seqs_without_gaps_or_duplicates(app, db):
    a, b, match_id = await _match(db)
    results = await asyncio.gather(*[_send(app, match_id, (a, b)[i % 2], f"m{i}") for i in range(24)])
    assert sorted(seq for seq, _, _ in results) == list(range(1, 25))
    stored = await db.fetch("SELECT seq FROM messages WHERE match_id = $1 ORDER BY seq", match_id)
    assert [r["seq"] for r in stored] == list(range(1, 25))
    assert await db.fetchval("SELECT last_seq FROM matches WHERE id = $1", match_id) == 24


async def test_concurrent_retries_store_one_message_and_consume_one_seq(app, db):
    a, _, match_id = await _match(db)
    results = await asyncio.gather(*[_send(app, match_id, a, "once", "same-key") for _ in range(10)])
    stored = [message for _, _, message in results if message is not None]
    assert len(stored) == 1 and stored[0].seq == 1
    assert await db.fetchval("SELECT count(*) FROM messages WHERE match_id = $1", match_id) == 1
    assert await db.fetchval("SELECT last_seq FROM matches WHERE id = $1", match_id) == 1
    assert (await _send(app, match_id, a, "next"))[2].seq == 2


async def test_inside_a_unit_of_work_the_send_is_undone_by_its_rollback(app, db):
    a, b, match_id = await _match(db)
    async with app.state.resources.sessionmaker() as session:
        await session.connection()  # the request's transaction is open (as after loading the caller)
        seq, other, message = await ChatRepository(session, app.state.resources.pg).claim_and_insert(
            match_id, a, "not kept", "text", None
        )
        assert (seq, other, message.content) == (1, b, "not kept")
        await session.rollback()
    assert await db.fetchval("SELECT count(*) FROM messages WHERE match_id = $1", match_id) == 0
    assert await db.fetchval("SELECT last_seq FROM matches WHERE id = $1", match_id) == 0


async def test_a_blocked_or_inactive_match_or_a_stranger_stores_nothing(app, db):
    a, b, match_id = await _match(db)
    assert await _send(app, match_id, uuid.uuid4(), "stranger") is None
    await db.execute("INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)", b, a)
    assert await _send(app, match_id, a, "blocked") is None
    await db.execute("DELETE FROM blocks")
    await db.execute("UPDATE matches SET is_active = false WHERE id = $1", match_id)
    assert await _send(app, match_id, a, "ended") is None
    assert await db.fetchval("SELECT count(*) FROM messages") == 0
