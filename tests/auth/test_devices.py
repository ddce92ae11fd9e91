"""Devices: the caller's list of sessions, ending one of them, and ending every other one."""

from __future__ import annotations

import uuid

import jwt

from tests.factories import TestUser, last_code, login, new_phone


def session_id(user: TestUser) -> str:
    return jwt.decode(user.token, options={"verify_signature": False})["sid"]


async def login_on(client, outbox, phone: str | None = None, **extra) -> TestUser:
    """A login that names its device (`device_name`) or sends a User-Agent (`headers`)."""
    phone = phone or new_phone()
    headers = extra.pop("headers", {})
    assert (await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})).status_code == 200
    verified = await client.post(
        "/api/v1/auth/verify-otp",
        headers=headers,
        json={"phone_number": phone, "otp": last_code(outbox, phone), **extra},
    )
    assert verified.status_code == 200, verified.text
    body = verified.json()
    return TestUser(uuid.UUID(body["user"]["id"]), phone, body["token"], body["refresh_token"])


async def second_device(client, app, outbox, user: TestUser, **extra) -> TestUser:
    await app.state.resources.redis.flushdb()  # skip the resend cooldown
    return await login_on(client, outbox, user.phone, **extra)


async def listed(client, user: TestUser) -> list[dict]:
    answer = await client.get("/api/v1/auth/sessions", headers=user.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["sessions"]


async def test_the_list_names_each_device_by_its_given_name_or_user_agent(client, app, settings):
    phone = await login_on(client, settings.sms_outbox, device_name="Ana's iPhone")
    laptop = await second_device(
        client, app, settings.sms_outbox, phone, headers={"User-Agent": "DatingApp/2.1 (Android 14)"}
    )
    names = {s["id"]: s["device_name"] for s in await listed(client, phone)}
    assert names == {session_id(phone): "Ana's iPhone", session_id(laptop): "DatingApp/2.1 (Android 14)"}


async def test_current_marks_only_the_session_asking(client, app, settings):
    user = await login(client, settings.sms_outbox)
    other = await second_device(client, app, settings.sms_outbox, user)
    current = {s["id"]: s["current"] for s in await listed(client, other)}
    assert current == {session_id(user): False, session_id(other): True}


async def test_the_network_is_the_addresss_slash_24_never_the_address(client, settings):
    user = await login(client, settings.sms_outbox)  # the test client is 203.0.113.7
    [entry] = await listed(client, user)
    assert entry["network"] == "203.0.113.0/24"
    assert "203.0.113.7" not in str(entry)


async def test_an_entry_has_its_times_and_nothing_else(client, settings):
    user = await login(client, settings.sms_outbox)
    [entry] = await listed(client, user)
    assert set(entry) == {"id", "device_name", "network", "created_at", "last_used_at", "current"}
    assert entry["last_used_at"] >= entry["created_at"]


async def test_a_refresh_moves_last_used_forward(client, db, settings):
    user = await login(client, settings.sms_outbox)
    await db.execute(
        "UPDATE auth_sessions SET created_at = now() - interval '1 hour', last_used_at = now() - interval '1 hour'"
    )
    [before] = await listed(client, user)
    refreshed = await client.post(
        "/api/v1/auth/refresh-token", headers={"Authorization": f"Bearer {user.refresh_token}"}
    )
    user.token = refreshed.json()["token"]
    [after] = await listed(client, user)
    assert after["last_used_at"] > before["last_used_at"]


async def test_an_ordinary_request_writes_nothing_to_the_session(client, db, settings):
    user = await login(client, settings.sms_outbox)
    before = await db.fetchval("SELECT last_used_at FROM auth_sessions")
    for _ in range(3):
        assert (await client.get("/api/v1/profile/me", headers=user.headers)).status_code == 200
    assert await db.fetchval("SELECT last_used_at FROM auth_sessions") == before


async def test_ended_sessions_are_not_listed(client, app, settings):
    user = await login(client, settings.sms_outbox)
    other = await second_device(client, app, settings.sms_outbox, user)
    assert (await client.post("/api/v1/auth/logout", headers=other.headers)).status_code == 200
    assert [s["id"] for s in await listed(client, user)] == [session_id(user)]


async def test_revoking_a_session_stops_its_tokens_and_not_the_callers(client, app, settings):
    user = await login(client, settings.sms_outbox)
    other = await second_device(client, app, settings.sms_outbox, user)
    ended = await client.delete(f"/api/v1/auth/sessions/{session_id(other)}", headers=user.headers)
    assert ended.status_code == 200 and ended.json() == {"success": True, "message": "Session ended"}
    refused = await client.get("/api/v1/profile/me", headers=other.headers)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "session_revoked"
    refresh = await client.post(
        "/api/v1/auth/refresh-token", headers={"Authorization": f"Bearer {other.refresh_token}"}
    )
    assert refresh.status_code == 401
    assert (await client.get("/api/v1/profile/me", headers=user.headers)).status_code == 200


async def test_revoking_it_again_is_harmless(client, app, settings):
    user = await login(client, settings.sms_outbox)
    other = await second_device(client, app, settings.sms_outbox, user)
    for _ in range(2):
        again = await client.delete(f"/api/v1/auth/sessions/{session_id(other)}", headers=user.headers)
        assert again.status_code == 200


async def test_someone_elses_session_is_404_like_an_unknown_one(client, settings):
    alice, bob = await login(client, settings.sms_outbox), await login(client, settings.sms_outbox)
    theirs = await client.delete(f"/api/v1/auth/sessions/{session_id(bob)}", headers=alice.headers)
    unknown = await client.delete(f"/api/v1/auth/sessions/{uuid.uuid4()}", headers=alice.headers)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.content == unknown.content
    assert theirs.json()["error"]["code"] == "session_not_found"
    assert (await client.get("/api/v1/profile/me", headers=bob.headers)).status_code == 200


async def test_logout_all_ends_every_other_session_and_keeps_this_one(client, app, settings):
    user = await login(client, settings.sms_outbox)
    others = [await second_device(client, app, settings.sms_outbox, user) for _ in range(2)]
    answer = await client.post("/api/v1/auth/logout-all", headers=user.headers)
    assert answer.status_code == 200
    assert answer.json() == {"success": True, "message": "Logged out of every other session", "revoked": 2}
    for other in others:
        assert (await client.get("/api/v1/profile/me", headers=other.headers)).status_code == 401
    assert [s["id"] for s in await listed(client, user)] == [session_id(user)]


async def test_logout_all_leaves_other_users_alone(client, settings):
    alice, bob = await login(client, settings.sms_outbox), await login(client, settings.sms_outbox)
    assert (await client.post("/api/v1/auth/logout-all", headers=alice.headers)).json()["revoked"] == 0
    assert (await client.get("/api/v1/profile/me", headers=bob.headers)).status_code == 200


async def test_a_device_name_must_not_be_blank_or_too_long(client, settings):
    phone = new_phone()
    await client.post("/api/v1/auth/send-otp", json={"phone_number": phone})
    for name in ("   ", "x" * 101):
        answer = await client.post(
            "/api/v1/auth/verify-otp",
            json={"phone_number": phone, "otp": last_code(settings.sms_outbox, phone), "device_name": name},
        )
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error"


async def test_a_refresh_extends_the_sessions_expiry_to_the_new_refresh_tokens(client, db, settings):
    user = await login(client, settings.sms_outbox)
    await db.execute("UPDATE auth_sessions SET expires_at = now() + interval '1 minute'")
    await client.post("/api/v1/auth/refresh-token", headers={"Authorization": f"Bearer {user.refresh_token}"})
    left = await db.fetchval("SELECT extract(epoch FROM expires_at - now()) FROM auth_sessions")
    assert left > settings.refresh_token_ttl_s - 60
