"""Sessions: refresh rotation with reuse detection, logout, and what counts as a valid token."""

from __future__ import annotations

import time
import uuid

import jwt

from tests.factories import login


async def test_refresh_returns_a_new_access_and_refresh_token(client, settings):
    user = await login(client, settings.sms_outbox)
    r = await client.post("/api/v1/auth/refresh-token", headers={"Authorization": f"Bearer {user.refresh_token}"})
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["token"] != user.token and body["refresh_token"] != user.refresh_token
    me = await client.get("/api/v1/profile/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200


async def test_a_rotated_refresh_token_presented_again_ends_the_whole_session(client, settings):
    user = await login(client, settings.sms_outbox)
    first = await client.post("/api/v1/auth/refresh-token", headers={"Authorization": f"Bearer {user.refresh_token}"})
    new = first.json()
    replay = await client.post("/api/v1/auth/refresh-token", headers={"Authorization": f"Bearer {user.refresh_token}"})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "refresh_token_reused"
    after = await client.post("/api/v1/auth/refresh-token", headers={"Authorization": f"Bearer {new['refresh_token']}"})
    assert after.status_code == 401
    me = await client.get("/api/v1/profile/me", headers={"Authorization": f"Bearer {new['token']}"})
    assert me.status_code == 401


async def test_logout_kills_both_the_access_and_the_refresh_token(client, settings):
    user = await login(client, settings.sms_outbox)
    out = await client.post("/api/v1/auth/logout", headers=user.headers)
    assert out.status_code == 200 and out.json() == {"success": True, "message": "Logged out successfully"}
    assert (await client.get("/api/v1/profile/me", headers=user.headers)).status_code == 401
    refresh = await client.post("/api/v1/auth/refresh-token", headers={"Authorization": f"Bearer {user.refresh_token}"})
    assert refresh.status_code == 401


async def test_logout_ends_only_that_device_session(client, settings, app):
    phone_user = await login(client, settings.sms_outbox)
    await app.state.resources.redis.flushdb()
    other_device = await login(client, settings.sms_outbox, phone_user.phone)
    await client.post("/api/v1/auth/logout", headers=phone_user.headers)
    assert (await client.get("/api/v1/profile/me", headers=other_device.headers)).status_code == 200


async def test_a_refresh_token_is_not_an_access_token(client, settings):
    user = await login(client, settings.sms_outbox)
    r = await client.get("/api/v1/profile/me", headers={"Authorization": f"Bearer {user.refresh_token}"})
    assert r.status_code == 401 and r.json()["success"] is False


async def test_an_access_token_is_not_a_refresh_token(client, settings):
    user = await login(client, settings.sms_outbox)
    r = await client.post("/api/v1/auth/refresh-token", headers=user.headers)
    assert r.status_code == 401


def _forge(settings, user_id, session_id, **changes) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
        "jti": "x",
        "type": "access",
        "iat": now,
        "exp": now + 60,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    claims.update(changes)
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


async def test_missing_malformed_expired_and_unsigned_tokens_are_refused(client, settings):
    user = await login(client, settings.sms_outbox)
    sid = jwt.decode(user.token, options={"verify_signature": False})["sid"]
    none_alg = jwt.encode(
        {
            "sub": str(user.id),
            "sid": sid,
            "jti": "x",
            "type": "access",
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
        },
        key=None,
        algorithm="none",
    )
    cases = {
        "missing": {},
        "not bearer": {"Authorization": f"Basic {user.token}"},
        "malformed": {"Authorization": "Bearer not.a.jwt"},
        "expired": {"Authorization": f"Bearer {_forge(settings, user.id, sid, exp=int(time.time()) - 5)}"},
        "alg none": {"Authorization": f"Bearer {none_alg}"},
        "wrong key": {"Authorization": "Bearer " + jwt.encode({"sub": str(user.id)}, "x" * 32, algorithm="HS256")},
        "wrong audience": {"Authorization": f"Bearer {_forge(settings, user.id, sid, aud='other')}"},
        "unknown session": {"Authorization": f"Bearer {_forge(settings, user.id, uuid.uuid4())}"},
    }
    for name, headers in cases.items():
        r = await client.get("/api/v1/profile/me", headers=headers)
        assert r.status_code == 401, name
        assert r.json()["success"] is False and r.json()["error"]["code"], name
