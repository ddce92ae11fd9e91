"""Moving an account to another number: a code texted to the new number, budgets and phone
rules as for login, a taken number refused only once the code proves the number is held."""

from __future__ import annotations

from kit.security import phone_hmac
from tests.factories import last_code, login, new_phone


async def send(client, user, phone: str):
    return await client.post("/api/v1/auth/change-phone/send-otp", json={"phone_number": phone}, headers=user.headers)


async def change(client, user, phone: str, otp: str):
    return await client.post(
        "/api/v1/auth/change-phone", json={"phone_number": phone, "otp": otp}, headers=user.headers
    )


async def test_the_account_moves_to_the_new_number(client, settings):
    user, phone = await login(client, settings.sms_outbox), new_phone()
    assert (await send(client, user, phone)).json() == {
        "success": True,
        "message": "OTP sent successfully",
        "expires_in": settings.otp_ttl_s,
    }
    moved = await change(client, user, phone, last_code(settings.sms_outbox, phone))
    assert moved.status_code == 200
    assert moved.json() == {
        "success": True,
        "message": "Phone number changed",
        "user": {"id": str(user.id), "phone_number": phone, "is_verified": True},
    }


async def test_the_new_number_logs_in_to_the_same_account(client, app, settings):
    user, phone = await login(client, settings.sms_outbox), new_phone()
    await send(client, user, phone)
    await change(client, user, phone, last_code(settings.sms_outbox, phone))
    await app.state.resources.redis.flushdb()  # the resend cooldown of the new number
    assert (await login(client, settings.sms_outbox, phone)).id == user.id


async def test_the_old_number_is_freed_for_a_new_account(client, app, settings):
    user, phone = await login(client, settings.sms_outbox), new_phone()
    await send(client, user, phone)
    await change(client, user, phone, last_code(settings.sms_outbox, phone))
    await app.state.resources.redis.flushdb()  # the resend cooldown of the old number
    newcomer = await login(client, settings.sms_outbox, user.phone)
    assert newcomer.id != user.id


async def test_sessions_stay_logged_in_after_the_move(client, settings):
    user, phone = await login(client, settings.sms_outbox), new_phone()
    await send(client, user, phone)
    await change(client, user, phone, last_code(settings.sms_outbox, phone))
    assert (await client.get("/api/v1/profile/me", headers=user.headers)).status_code == 200


async def test_sending_to_a_number_with_an_account_answers_as_for_a_free_one(client, app, settings):
    user, holder = await login(client, settings.sms_outbox), await login(client, settings.sms_outbox)
    await app.state.resources.redis.flushdb()  # the holder's resend cooldown
    taken, free = await send(client, user, holder.phone), await send(client, user, new_phone())
    assert taken.status_code == free.status_code == 200
    assert taken.content == free.content


async def test_a_number_with_an_account_is_refused_once_its_code_is_proven(client, app, settings, db):
    user, holder = await login(client, settings.sms_outbox), await login(client, settings.sms_outbox)
    await app.state.resources.redis.flushdb()  # the holder's resend cooldown
    await send(client, user, holder.phone)
    taken = await change(client, user, holder.phone, last_code(settings.sms_outbox, holder.phone))
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "phone_number_taken"
    assert await db.fetchval("SELECT phone_number FROM users WHERE id = $1", user.id) == user.phone
    assert await db.fetchval("SELECT phone_number FROM users WHERE id = $1", holder.id) == holder.phone


async def test_the_number_of_an_erased_banned_account_is_refused_as_taken(client, settings, db):
    user, phone = await login(client, settings.sms_outbox), new_phone()
    await db.execute(
        "INSERT INTO banned_phones (phone_hmac, banned_at) VALUES ($1, now())", phone_hmac(settings, phone)
    )
    await send(client, user, phone)
    refused = await change(client, user, phone, last_code(settings.sms_outbox, phone))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "phone_number_taken"
    assert await db.fetchval("SELECT phone_number FROM users WHERE id = $1", user.id) == user.phone


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def test_a_wrong_code_changes_nothing_and_counts_as_a_failure(client, settings, db):
    user, phone = await login(client, settings.sms_outbox), new_phone()
    await send(client, user, phone)
    code = last_code(settings.sms_outbox, phone)
    refused = await change(client, user, phone, wrong(code))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_otp"
    assert await db.fetchval("SELECT attempts FROM otp_challenges WHERE phone_number = $1", phone) == 1
    assert await db.fetchval("SELECT phone_number FROM users WHERE id = $1", user.id) == user.phone


async def test_a_code_is_used_once(client, settings):
    user, phone = await login(client, settings.sms_outbox), new_phone()
    await send(client, user, phone)
    code = last_code(settings.sms_outbox, phone)
    assert (await change(client, user, phone, code)).status_code == 200
    again = await change(client, user, phone, code)
    assert again.status_code == 400 and again.json()["error"]["code"] == "otp_expired"


async def test_a_login_code_does_not_change_the_number(client, settings):
    user, phone = await login(client, settings.sms_outbox), new_phone()
    await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    answer = await change(client, user, phone, last_code(settings.sms_outbox, phone))
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "otp_expired"


async def test_a_change_code_does_not_log_in(client, settings):
    user, phone = await login(client, settings.sms_outbox), new_phone()
    await send(client, user, phone)
    answer = await client.post(
        "/api/v1/auth/verify-otp", json={"phone_number": phone, "otp": last_code(settings.sms_outbox, phone)}
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "otp_expired"


async def test_another_accounts_change_code_does_not_move_this_account(client, settings):
    alice, bob, phone = await login(client, settings.sms_outbox), await login(client, settings.sms_outbox), new_phone()
    await send(client, alice, phone)
    stolen = await change(client, bob, phone, last_code(settings.sms_outbox, phone))
    assert stolen.status_code == 400 and stolen.json()["error"]["code"] == "invalid_otp"


async def test_the_callers_own_number_is_refused(client, settings):
    user = await login(client, settings.sms_outbox)
    same = await send(client, user, user.phone)
    assert same.status_code == 422 and same.json()["error"]["code"] == "same_phone_number"


async def test_the_phone_policy_applies(client, settings):
    user = await login(client, settings.sms_outbox)
    refused = await send(client, user, "+442071838750")  # a London landline, outside US,CA
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] in ("phone_country_not_supported", "phone_number_not_supported")


async def test_the_per_number_budget_applies(client, settings):
    user, phone = await login(client, settings.sms_outbox), new_phone()
    assert (await send(client, user, phone)).status_code == 200
    again = await send(client, user, phone)
    assert again.status_code == 429 and again.json()["error"]["code"] == "otp_cooldown"


async def test_sending_needs_a_login(client):
    answer = await client.post("/api/v1/auth/change-phone/send-otp", json={"phone_number": new_phone()})
    assert answer.status_code == 401
