"""Safety fixtures: members, a moderator, matches and messages written straight to the tables,
and an inbox that hears the realtime events published to given users."""

from __future__ import annotations

import json
import uuid

import pytest
import redis.asyncio as aioredis

from deployments.realtime.bus import decode_event, user_channel
from deployments.safety.cli import grant_moderator
from tests.factories import TestUser, make_member


class Inbox:
    """Subscribes to users' event channels; `drain()` returns what arrived, as (user_id, event, data)."""

    def __init__(self, redis_url: str, *users: TestUser) -> None:
        self.redis = aioredis.from_url(redis_url, decode_responses=True)
        self.pubsub = self.redis.pubsub()
        self.channels = {user_channel(u.id): u.id for u in users}

    async def __aenter__(self) -> Inbox:
        await self.pubsub.subscribe(*self.channels)
        for _ in self.channels:  # the subscribe confirmations
            await self.pubsub.get_message(timeout=1)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.pubsub.aclose()
        await self.redis.aclose()

    async def drain(self) -> list[tuple[uuid.UUID, str, dict]]:
        got = []
        while (message := await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=0.3)) is not None:
            frame = json.loads(decode_event(message["data"]).frame)
            got.append((self.channels[message["channel"]], frame["event"], frame["data"]))
        return got


@pytest.fixture
def inbox(settings):
    return lambda *users: Inbox(settings.redis_url, *users)


@pytest.fixture
async def alice(client, settings) -> TestUser:
    return await make_member(client, settings.sms_outbox, first_name="Alice", gender="female")


@pytest.fixture
async def bob(client, settings) -> TestUser:
    return await make_member(client, settings.sms_outbox, first_name="Bob", gender="male")


@pytest.fixture
async def moderator(client, settings) -> TestUser:
    user = await make_member(client, settings.sms_outbox, first_name="Mod")
    await grant_moderator(settings.database_url, user.phone)
    return user


async def make_match(db, a: TestUser, b: TestUser) -> uuid.UUID:
    low, high = sorted([a.id, b.id], key=str)
    return await db.fetchval("INSERT INTO matches (user1_id, user2_id) VALUES ($1, $2) RETURNING id", low, high)


async def add_message(db, match_id: uuid.UUID, sender: TestUser, content: str) -> uuid.UUID:
    seq = await db.fetchval("UPDATE matches SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq", match_id)
    return await db.fetchval(
        "INSERT INTO messages (match_id, sender_id, content, seq) VALUES ($1, $2, $3, $4) RETURNING id",
        match_id,
        sender.id,
        content,
        seq,
    )


async def age_account(db, user: TestUser, days: int = 2) -> None:
    """Make the account `days` old (reports from accounts under a day old never hide anyone)."""
    await db.execute("UPDATE users SET created_at = now() - make_interval(days => $2) WHERE id = $1", user.id, days)


async def saw_in_feed(db, viewer: TestUser, candidate: TestUser) -> None:
    """Record that `viewer`'s feed showed `candidate` an hour ago, as a served feed page would."""
    await db.execute(
        "INSERT INTO feed_impressions (viewer_id, candidate_id, first_shown_at) "
        "VALUES ($1, $2, now() - interval '1 hour')",
        viewer.id,
        candidate.id,
    )


@pytest.fixture
def credible_reporter(client, settings, db):
    """`await credible_reporter(target)`: a member whose reports count towards hiding `target`:
    a two-day-old account whose feed has shown the target."""

    async def make(target: TestUser, **profile) -> TestUser:
        user = await make_member(client, settings.sms_outbox, **profile)
        await age_account(db, user)
        await saw_in_feed(db, user, target)
        return user

    return make
