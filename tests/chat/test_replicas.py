"""Delivery across gateway replicas: two app instances (two replicas) on one PostgreSQL and
Redis. Events reach every device once, wherever it is connected, and an event whose users
are all connected to the publishing replica never goes through Redis."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from deployments.realtime.bus import EventBus, decode_event
from deployments.realtime.lifecycle import Realtime
from tests.chat.conftest import connect, pair
from tests.factories import login


class Published:
    """What reaches Redis on user channels, seen through a pattern subscription (which Redis
    does not count as a channel subscriber, so it does not change what gets published)."""

    def __init__(self, redis_url: str) -> None:
        self.redis = aioredis.from_url(redis_url, decode_responses=True)
        self.pubsub = self.redis.pubsub()

    async def __aenter__(self) -> Published:
        await self.pubsub.psubscribe("ev:user:*")
        await self.pubsub.get_message(timeout=1)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.pubsub.aclose()
        await self.redis.aclose()

    async def events(self) -> list[tuple[str, str]]:
        """(user id, event) of everything published since the last call."""
        seen = []
        while (message := await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)) is not None:
            seen.append((message["channel"].rsplit(":", 1)[-1], decode_event(message["data"]).event))
        return seen


async def _send(sock, match_id, content: str) -> dict:
    await sock.send("send_message", {"match_id": str(match_id), "content": content})
    return (await sock.next("message_sent"))["data"]["message"]


def _messages(frames: list[dict]) -> list[str]:
    return [f["data"]["message"]["content"] for f in frames if f["event"] == "new_message"]


async def test_a_message_reaches_every_device_once_across_replicas(replicas, db, sockets, settings):
    settings.otp_resend_cooldown_s = 0
    r1, r2 = replicas
    a, b, match_id = await pair(r1, r1.outbox, db)
    a_tablet = await login(r1.http, r1.outbox, a.phone)  # a second session of the sender
    a_phone, a_other = await connect(r1, a), await connect(r2, a_tablet)
    b_phone, b_tablet = await connect(r2, b), await connect(r1, b)
    sockets.extend([a_phone, a_other, b_phone, b_tablet])
    await _send(a_phone, match_id, "across")
    for sock in (b_phone, b_tablet, a_other):
        assert (await sock.next("new_message"))["data"]["message"]["content"] == "across"
    await asyncio.sleep(0.3)
    for sock in (b_phone, b_tablet, a_other):
        assert _messages(await sock.quiet()) == []  # no second copy (the publishing replica's echo)
    assert _messages(await a_phone.quiet()) == []  # the sending device has its ack


async def test_users_connected_only_to_the_publishing_replica_skip_redis(replicas, db, sockets, settings):
    r1, r2 = replicas
    a, b, match_id = await pair(r1, r1.outbox, db)
    sa, sb = await connect(r1, a), await connect(r1, b)
    sockets.extend([sa, sb])
    async with Published(settings.redis_url) as published:
        await _send(sa, match_id, "local")
        assert (await sb.next("new_message"))["data"]["message"]["content"] == "local"
        assert await published.events() == []
        b_elsewhere = await connect(r2, b)  # now the recipient is also on the other replica
        sockets.append(b_elsewhere)
        await _send(sa, match_id, "both")
        for sock in (sb, b_elsewhere):
            assert (await sock.next("new_message"))["data"]["message"]["content"] == "both"
        assert await published.events() == [(str(b.id), "new_message")]
        assert _messages(await sb.quiet()) == []


async def test_a_replica_unsure_of_its_subscription_publishes_and_ignores_its_echo(replicas, db, sockets, settings):
    r1, _ = replicas
    a, b, match_id = await pair(r1, r1.outbox, db)
    sa, sb = await connect(r1, a), await connect(r1, b)
    sockets.extend([sa, sb])
    r1.app.state.resources.get(Realtime).hub.confirmed.clear()  # as after its subscriber connection failed
    async with Published(settings.redis_url) as published:
        await _send(sa, match_id, "unsure")
        assert (await sb.next("new_message"))["data"]["message"]["content"] == "unsure"
        assert sorted(await published.events()) == sorted([(str(b.id), "new_message"), (str(a.id), "new_message")])
    assert _messages(await sb.quiet()) == []
    assert _messages(await sa.quiet()) == []


async def test_with_redis_failing_users_on_the_same_replica_still_get_their_events(replicas, db, sockets):
    from redis.exceptions import ConnectionError as RedisConnectionError

    r1, _ = replicas
    a, b, match_id = await pair(r1, r1.outbox, db)
    sa, sb = await connect(r1, a), await connect(r1, b)
    sockets.extend([sa, sb])

    async def redis_down(**kwargs):
        raise RedisConnectionError("connection refused")

    r1.app.state.resources.get(EventBus)._fanout = redis_down
    await _send(sa, match_id, "still here")
    assert (await sb.next("new_message"))["data"]["message"]["content"] == "still here"
