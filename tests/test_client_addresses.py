"""True client addresses end to end, from distinct loopback addresses as outside clients would
come: through Serve's real ingress (HAProxy + direct ingress, as `make run` runs it) and on bare
uvicorn. Wrong codes from one address do not lock out a login from another, forged forwarding
headers change nothing, and each address's failures are counted in Redis under that address."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from tests.chat.conftest import serving_live
from tests.factories import last_code, new_phone
from tests.test_serve import served  # noqa: F401  (the Serve fixture, for this module too)

ATTACKER, VICTIM = "127.5.0.1", "127.6.0.1"
# What a hostile client writes to be counted as someone else.
FORGED = {"X-Forwarded-For": VICTIM, "X-Real-IP": VICTIM, "Forwarded": f"for={VICTIM}"}


def from_address(base: str, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, timeout=30, transport=httpx.AsyncHTTPTransport(local_address=address))


async def failures_counted(redis: aioredis.Redis, address: str) -> int:
    keys = await redis.keys(f"rl:login_fail:{address}:*")
    return sum(int(value) for value in await redis.mget(keys)) if keys else 0


async def wrong_codes_from_one_address_leave_another_alone(base: str, outbox: Path, redis_url: str) -> None:
    redis = aioredis.from_url(redis_url, decode_responses=True)
    try:
        for address in (ATTACKER, VICTIM, "127.0.0.1"):
            for key in await redis.keys(f"rl:login_fail:{address}:*"):
                await redis.delete(key)
        target, own = new_phone(), new_phone()
        async with from_address(base, ATTACKER) as attacker, from_address(base, VICTIM) as victim:
            assert (
                await attacker.post("/api/v1/auth/send-otp", json={"phone_number": target}, headers=FORGED)
            ).status_code == 200
            wrong = "000000" if last_code(outbox, target) != "000000" else "111111"
            answers = [
                await attacker.post(
                    "/api/v1/auth/verify-otp", json={"phone_number": target, "otp": wrong}, headers=FORGED
                )
                for _ in range(7)
            ]
            assert [a.status_code for a in answers] == [400] * 5 + [429] * 2
            assert answers[-1].json()["success"] is False
            assert await failures_counted(redis, ATTACKER) == 5

            assert (await victim.post("/api/v1/auth/send-otp", json={"phone_number": own})).status_code == 200
            missed = await victim.post("/api/v1/auth/verify-otp", json={"phone_number": own, "otp": wrong})
            assert missed.status_code == 400
            login = await victim.post(
                "/api/v1/auth/verify-otp", json={"phone_number": own, "otp": last_code(outbox, own)}
            )
            assert login.status_code == 200, login.text
        assert await failures_counted(redis, VICTIM) == 1  # its own miss only: the forged header added nothing
        assert await failures_counted(redis, "127.0.0.1") == 0  # nothing counted under the proxy's address
    finally:
        await redis.aclose()


@pytest.mark.ray
async def test_wrong_codes_through_the_serve_ingress_do_not_lock_out_another_address(served, infra):
    base, outbox = served
    await wrong_codes_from_one_address_leave_another_alone(base, outbox, infra[0].redis_url)


async def test_on_bare_uvicorn_the_peer_address_is_the_client(settings):
    async with serving_live(settings) as live:
        await wrong_codes_from_one_address_leave_another_alone(
            str(live.http.base_url), settings.sms_outbox, settings.redis_url
        )
