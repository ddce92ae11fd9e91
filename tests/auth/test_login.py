"""Phone-number OTP login: the first thing every user does."""

from __future__ import annotations

import asyncio
import json

import jwt

from tests.factories import last_code, login, new_phone


async def test_send_otp_answers_with_the_seed_shape_and_texts_a_six_digit_code(client, settings):
    phone = new_phone()
    response = await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "OTP sent successfully", "expires_in": 300}
    sms = json.loads(settings.sms_outbox.read_text().splitlines()[-1])
    assert sms["to"] == phone and len(last_code(settings.sms_outbox, phone)) == 6 and sms["sent_at"]


async def test_numbers_are_e164_as_the_schema_says(client, settings):
    response = await client.post("/api/v1/auth/send-otp", json={"phone_number": "+1 (202) 555-0177"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"
    assert "phone_number" in response.json()["error"]["message"]
    assert (await client.post("/api/v1/auth/send-otp", json={"phone_number": "+12025550177"})).status_code == 200
    assert json.loads(settings.sms_outbox.read_text())["to"] == "+12025550177"


async def test_an_invalid_number_is_a_422_in_the_error_envelope(client):
    response = await client.post("/api/v1/auth/send-otp", json={"phone_number": "+1999555012"})
    assert response.status_code == 422
    assert response.json() == {
        "success": False,
        "error": {"code": "invalid_phone_number", "message": response.json()["error"]["message"]},
    }


async def test_only_an_hmac_of_the_code_is_stored(client, settings, db):
    phone = new_phone()
    await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    code = last_code(settings.sms_outbox, phone)
    stored = await db.fetchval("SELECT code_hmac FROM otp_challenges WHERE phone_number = $1", phone)
    assert stored and code not in stored and len(stored) == 64


async def test_verify_creates_the_user_and_returns_tokens_with_the_required_claims(client, settings, db):
    user = await login(client, settings.sms_outbox)
    claims = jwt.decode(user.token, settings.jwt_secret, algorithms=["HS256"], audience=settings.jwt_audience)
    assert {"sub", "exp", "iat", "jti", "type", "iss", "aud"} <= claims.keys()
    assert claims["type"] == "access" and claims["exp"] - claims["iat"] == 24 * 3600
    row = await db.fetchrow("SELECT is_verified, last_login FROM users WHERE id = $1", user.id)
    assert row["is_verified"] is True and row["last_login"] is not None


async def test_verify_response_has_the_seed_shape(client, settings):
    phone = new_phone()
    await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    body = (
        await client.post(
            "/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": last_code(settings.sms_outbox, phone)}
        )
    ).json()
    assert body["success"] is True and body["expires_in"] == 86400
    assert body["user"]["phone_number"] == phone and body["user"]["is_verified"] is True
    assert body["token"] and body["refresh_token"]


async def test_a_code_works_only_once(client, settings):
    phone = new_phone()
    await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    payload = {"phone_number": phone, "otp": last_code(settings.sms_outbox, phone)}
    assert (await client.post("/api/v1/auth/verify-otp", json=payload)).status_code == 200
    again = await client.post("/api/v1/auth/verify-otp", json=payload)
    assert again.status_code == 400 and again.json()["error"]["code"] == "otp_expired"


async def test_second_login_reuses_the_same_account(app, client, settings):
    phone = new_phone()
    first = await login(client, settings.sms_outbox, phone)
    await app.state.resources.redis.flushdb()  # skip the resend cooldown
    second = await login(client, settings.sms_outbox, phone)
    assert first.id == second.id


async def test_five_wrong_guesses_kill_the_code(app, client, settings):
    phone = new_phone()
    await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    code = last_code(settings.sms_outbox, phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        r = await client.post("/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": wrong})
        assert r.status_code in (400, 429)
    await app.state.resources.redis.delete(*await app.state.resources.redis.keys("rl:login_fail:*"))
    right = await client.post("/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": code})
    assert right.status_code == 429 and right.json()["error"]["code"] == "too_many_attempts"


async def test_a_new_code_does_not_reset_the_failure_count(app, client, settings):
    phone = new_phone()
    redis = app.state.resources.redis
    await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    for _ in range(5):
        await client.post("/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": "000000"})
    await redis.flushdb()  # lift the IP limit and resend cooldown, not the number's count
    await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    fresh = last_code(settings.sms_outbox, phone)
    r = await client.post("/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": fresh})
    assert r.status_code == 429


async def test_parallel_wrong_guesses_cannot_pass_the_cap(client, settings, db):
    phone = new_phone()
    await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    code = last_code(settings.sms_outbox, phone)
    guesses = [f"{(int(code) + i) % 1_000_000:06d}" for i in range(1, 21)]
    results = await asyncio.gather(
        *[client.post("/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": g}) for g in guesses]
    )
    assert all(r.status_code in (400, 429) for r in results)
    assert await db.fetchval("SELECT sum(attempts) FROM otp_challenges WHERE phone_number = $1", phone) <= 5


async def test_the_same_answer_for_new_and_existing_numbers(app, client, settings):
    existing = await login(client, settings.sms_outbox)
    await app.state.resources.redis.flushdb()
    known = await client.post("/api/v1/auth/send-otp", json={"phone_number": existing.phone})
    unknown = await client.post("/api/v1/auth/send-otp", json={"phone_number": new_phone()})
    assert known.status_code == unknown.status_code == 200 and known.json() == unknown.json()
