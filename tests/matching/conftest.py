"""Helpers for the matching tests: members in known places, feeds, premium, blocks, events."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
import redis.asyncio as aioredis

from deployments.backends import Backends
from deployments.realtime.bus import decode_event, user_channel
from tests.factories import TestUser, make_member

NYC = (40.7128, -74.0060)


def born(age: int) -> str:
    """A birth date that makes someone `age` today (born on 1 January)."""
    return date(date.today().year - age, 1, 1).isoformat()


def here(lat: float, lon: float) -> dict:
    return {"latitude": lat, "longitude": lon}


def prefs(**overrides) -> dict:
    return {"max_distance": 50, "age_min": 18, "age_max": 99, "show_me": "everyone", **overrides}


@pytest.fixture
def member(client, settings):
    """`await member(first_name=..., gender=..., location=..., preferences=...)`: a complete profile."""

    async def make(**profile) -> TestUser:
        profile.setdefault("preferences", prefs())
        return await make_member(client, settings.sms_outbox, **profile)

    return make


@pytest.fixture
def feed(client, app):
    """`await feed(user)`: the user's feed ids after the ranker index caught up with the database."""

    async def get(user: TestUser, limit: int | None = None, refresh: bool = True) -> list[dict]:
        if refresh:
            await app.state.resources.get(Backends).ranker.refresh.remote()
        params = {"limit": limit} if limit else {}
        response = await client.get("/api/v1/matching/feed", params=params, headers=user.headers)
        assert response.status_code == 200, response.text
        return response.json()["users"]

    return get


def ids(cards: list[dict]) -> list[uuid.UUID]:
    return [uuid.UUID(c["id"]) for c in cards]


@pytest.fixture
def swipe(client):
    async def do(user: TestUser, target: TestUser | uuid.UUID, action: str = "like"):
        target_id = target.id if isinstance(target, TestUser) else target
        return await client.post(
            "/api/v1/matching/swipe", headers=user.headers, json={"target_user_id": str(target_id), "action": action}
        )

    return do


@pytest.fixture
def make_premium(db):
    async def grant(user: TestUser) -> None:
        await db.execute(
            "INSERT INTO subscriptions (user_id, plan_type, status, expires_at) "
            "VALUES ($1, 'premium_monthly', 'active', now() + interval '30 days')",
            user.id,
        )

    return grant


@pytest.fixture
def block(db):
    async def add(blocker: TestUser, blocked: TestUser) -> None:
        await db.execute("INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)", blocker.id, blocked.id)

    return add


class Inbox:
    """Everything published to some users' realtime channels."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.pubsub = redis.pubsub()
        self.frames: list[tuple[str, dict]] = []

    async def listen(self, *users: TestUser) -> None:
        await self.pubsub.subscribe(*(user_channel(u.id) for u in users))
        while (await self.pubsub.get_message(timeout=0.2)) is not None:  # subscription confirmations
            pass

    async def collect(self, expected: int) -> list[tuple[str, dict]]:
        for _ in range(50):
            if len(self.frames) >= expected:
                break
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message is not None:
                self.frames.append((message["channel"], json.loads(decode_event(message["data"]).frame)))
        return self.frames


@pytest.fixture
async def inbox(settings):
    redis = aioredis.from_url(settings.redis_url, decode_responses=True)
    box = Inbox(redis)
    yield box
    await box.pubsub.aclose()
    await redis.aclose()
