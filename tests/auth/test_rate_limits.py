"""Rate limits from the API design, kept in Redis: 429 with Retry-After, OTP limits fail closed."""

from __future__ import annotations

import pytest

from tests.factories import last_code, login, new_phone


async def test_a_second_code_within_the_cooldown_is_refused_with_retry_after(client):
    phone = new_phone()
    assert (await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})).status_code == 200
    again = await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    assert again.status_code == 429 and 0 < int(again.headers["Retry-After"]) <= 60
    assert again.json()["error"]["code"] == "otp_cooldown"


async def test_at_most_three_codes_per_hour_per_number(app, client):
    phone = new_phone()
    statuses = []
    for _ in range(4):
        for key in await app.state.resources.redis.keys("rl:cd:*"):
            await app.state.resources.redis.delete(key)  # step past the 60 s cooldown, not the hourly limit
        statuses.append((await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})).status_code)
    assert statuses == [200, 200, 200, 429]


async def test_failed_verifications_are_limited_per_ip_but_successes_are_not(client, settings):
    for _ in range(3):
        await login(client, settings.sms_outbox)  # many users behind one carrier NAT log in fine
    for _ in range(5):
        phone = new_phone()
        await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
        await client.post("/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": "999999"})
    phone = new_phone()
    await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    blocked = await client.post(
        "/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": last_code(settings.sms_outbox, phone)}
    )
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers


async def test_api_requests_are_limited_per_user(client_with, settings):
    async with client_with(rate_api_per_hour=3) as http:
        user = await login(http, settings.sms_outbox)
        statuses = [(await http.get("/api/v1/profile/me", headers=user.headers)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


@pytest.fixture
async def redis_down_client(client_with):
    async with client_with(redis_url="redis://127.0.0.1:1/0") as http:
        yield http


async def test_otp_sending_fails_closed_when_redis_is_down(redis_down_client, db):
    phone = new_phone()
    r = await redis_down_client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable"
    assert await db.fetchval("SELECT count(*) FROM otp_challenges WHERE phone_number = $1", phone) == 0


async def test_health_reports_unhealthy_when_redis_is_down(redis_down_client):
    r = await redis_down_client.get("/health")
    assert r.status_code == 503
    assert r.json()["status"] == "unhealthy" and r.json()["services"]["redis"] == "down"
    assert r.json()["services"]["database"] == "up"


async def test_otp_verification_fails_closed_when_redis_is_down(redis_down_client):
    r = await redis_down_client.post("/api/v1/auth/verify-otp", json={"phone_number": new_phone(), "otp": "123456"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable"
