"""Caps on sockets: per user and per address across replicas (the next one is refused with
4429), slots that a killed replica held expire, and a socket that does not authenticate in
time is closed."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from deployments.realtime.guard import SocketSlots, address_slots, user_slots
from tests.chat.conftest import closed_with, connect
from tests.factories import login


async def assert_refused(sock) -> None:
    frame = await sock.next()
    assert frame["event"] == "error" and frame["data"]["code"] == "too_many_sockets"
    assert await closed_with(sock) == 4429


async def slots_held(live, key: str, count: int) -> None:
    """Wait until the server counts `count` sockets under `key` (a socket takes its slot just
    after the handshake completes, and gives it back just after it closes)."""
    while await live.app.state.resources.redis.zcard(key) != count:
        await asyncio.sleep(0.02)


async def test_the_sixth_socket_of_a_user_is_refused_across_replicas(replicas, settings, sockets):
    r1, r2 = replicas
    user = await login(r1.http, r1.outbox)
    assert settings.ws_max_sockets_per_user == 5
    sockets.extend([await connect(r1, user) for _ in range(3)] + [await connect(r2, user) for _ in range(2)])
    sixth = await connect(r1)
    await sixth.send("authenticate", {"token": user.token})
    await assert_refused(sixth)
    for sock in sockets:  # the five stay open
        await sock.send("ping")
        assert (await sock.next())["event"] == "pong"


async def test_a_closed_socket_frees_its_slot_for_the_user(live_with):
    async with live_with(ws_max_sockets_per_user=1) as live:
        user = await login(live.http, live.outbox)
        first = await connect(live, user)
        refused = await connect(live)
        await refused.send("authenticate", {"token": user.token})
        await assert_refused(refused)
        await first.close()
        await slots_held(live, user_slots(user.id), 0)
        await (await connect(live, user)).close()  # connect() asserts `authenticated`


async def test_sockets_past_the_per_address_cap_are_refused_before_authenticating(live_with):
    async with live_with(ws_max_sockets_per_address=2, ws_auth_timeout_s=30) as live:
        held = [await connect(live), await connect(live)]  # not authenticated: they count too
        await slots_held(live, address_slots("127.0.0.1"), 2)
        third = await connect(live)
        await assert_refused(third)
        for sock in held:
            await sock.close()


async def test_slots_of_a_killed_replica_expire_with_their_lease(settings):
    redis = aioredis.from_url(settings.redis_url, decode_responses=True)
    try:
        killed = SocketSlots(redis, lease_s=0.2)  # never renews, never releases: the replica died
        assert await killed.acquire("ws:slots:user:u", "old", cap=1)
        survivor = SocketSlots(redis)
        assert not await survivor.acquire("ws:slots:user:u", "new", cap=1)
        await asyncio.sleep(0.3)
        assert await survivor.acquire("ws:slots:user:u", "new", cap=1)
    finally:
        await redis.aclose()


async def test_renewing_keeps_a_live_replicas_slots(settings):
    redis = aioredis.from_url(settings.redis_url, decode_responses=True)
    try:
        alive = SocketSlots(redis, lease_s=0.2)
        assert await alive.acquire("ws:slots:user:u", "old", cap=1)
        for _ in range(3):
            await asyncio.sleep(0.1)
            await alive.renew()
        assert not await SocketSlots(redis).acquire("ws:slots:user:u", "new", cap=1)
    finally:
        await redis.aclose()


async def test_an_unauthenticated_socket_is_closed_after_the_auth_timeout(live_with, settings):
    assert settings.ws_auth_timeout_s == 3
    async with live_with(ws_auth_timeout_s=0.3) as live:
        sock = await connect(live)
        frame = await sock.next()
        assert frame["data"] == {"code": "auth_timeout", "message": "Authenticate within 0.3 seconds of connecting"}
        assert await closed_with(sock) == 4401
