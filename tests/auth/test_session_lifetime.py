"""Sessions have a hard lifetime (SESSION_MAX_AGE_S) that refresh-token rotations do not extend."""

from __future__ import annotations

from deployments.realtime.bus import EventBus
from tests.factories import login


async def refresh(client, refresh_token: str):
    return await client.post("/api/v1/auth/refresh-token", headers={"Authorization": f"Bearer {refresh_token}"})


async def age_sessions(db, seconds: int) -> None:
    """Pretend every session logged in `seconds` ago."""
    await db.execute(f"UPDATE auth_sessions SET created_at = now() - interval '{int(seconds)} seconds'")


async def test_the_default_lifetime_is_90_days(settings):
    assert settings.session_max_age_s == 90 * 24 * 3600


async def test_refresh_past_the_maximum_age_is_refused_whatever_the_rotations(client, settings, db):
    user = await login(client, settings.sms_outbox)
    token = user.refresh_token
    for _ in range(2):
        token = (await refresh(client, token)).json()["refresh_token"]
    await age_sessions(db, settings.session_max_age_s + 1)
    refused = await refresh(client, token)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "session_expired"
    assert await db.fetchval("SELECT revoke_reason FROM auth_sessions WHERE user_id = $1", user.id) == "expired"


async def test_refresh_just_inside_the_maximum_age_still_works(client, settings, db):
    user = await login(client, settings.sms_outbox)
    await age_sessions(db, settings.session_max_age_s - 60)
    assert (await refresh(client, user.refresh_token)).status_code == 200


async def test_an_access_token_of_a_session_past_its_maximum_age_is_refused(client, settings, db):
    user = await login(client, settings.sms_outbox)
    await age_sessions(db, settings.session_max_age_s + 1)
    me = await client.get("/api/v1/profile/me", headers=user.headers)
    assert me.status_code == 401 and me.json()["error"]["code"] == "session_expired"


async def test_an_expired_refresh_tells_the_sessions_sockets_after_the_revocation_commits(
    app, client, settings, db, monkeypatch
):
    user = await login(client, settings.sms_outbox)
    await age_sessions(db, settings.session_max_age_s + 1)
    heard = []

    async def session_ended(user_id, session_id, reason):  # what the sockets' replicas would hear
        revoked = await db.fetchval("SELECT revoked_at IS NOT NULL FROM auth_sessions WHERE id = $1", session_id)
        heard.append((user_id, reason, revoked))

    monkeypatch.setattr(app.state.resources.get(EventBus), "session_ended", session_ended)
    await refresh(client, user.refresh_token)
    assert heard == [(user.id, "expired", True)]
