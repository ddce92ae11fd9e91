"""/api/v1/devices and /api/v1/notifications: registering tokens, who owns them, how long they
live, and the preferences behind every push."""

from __future__ import annotations

import uuid

from tests.chat.conftest import make_match
from tests.factories import login
from tests.push.conftest import live_with, register


async def test_registering_a_token_again_keeps_one_device(live, db):
    user = await login(live.http, live.outbox)
    first = await register(live, user, token="a" * 64)
    again = await register(live, user, token="a" * 64)
    assert first["id"] == again["id"]
    assert await db.fetchval("SELECT count(*) FROM push_devices") == 1


async def test_a_token_moves_to_the_account_that_registers_it_last(live, db):
    old, new = await login(live.http, live.outbox), await login(live.http, live.outbox)
    device = await register(live, old, token="b" * 64)
    await register(live, new, token="b" * 64)
    assert await db.fetchval("SELECT user_id FROM push_devices WHERE token = $1", "b" * 64) == new.id
    gone = await live.http.delete(f"/api/v1/devices/{device['id']}", headers=old.headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "device_not_found"


async def test_deleting_someone_elses_device_is_a_404_and_ones_own_works(live, db):
    owner, other = await login(live.http, live.outbox), await login(live.http, live.outbox)
    device = await register(live, owner)
    refused = await live.http.delete(f"/api/v1/devices/{device['id']}", headers=other.headers)
    assert refused.status_code == 404
    deleted = await live.http.delete(f"/api/v1/devices/{device['id']}", headers=owner.headers)
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    assert await db.fetchval("SELECT count(*) FROM push_devices") == 0


async def test_a_bad_platform_or_token_is_refused(live):
    user = await login(live.http, live.outbox)
    for body in ({"platform": "windows", "token": "a" * 64}, {"platform": "ios", "token": "has spaces in it"}):
        response = await live.http.post("/api/v1/devices", headers=user.headers, json=body)
        assert response.status_code == 422 and response.json()["success"] is False


async def test_logout_removes_the_sessions_tokens_only(native_settings, db):
    async with live_with(native_settings, otp_resend_cooldown_s=0) as live:
        phone_user = await login(live.http, live.outbox)
        tablet = await login(live.http, live.outbox, phone_user.phone)  # a second session of the same account
        await register(live, phone_user, token="c" * 64)
        await register(live, tablet, token="d" * 64)
        out = await live.http.post("/api/v1/auth/logout", headers=phone_user.headers)
        assert out.status_code == 200, out.text
        assert [r["token"] for r in await db.fetch("SELECT token FROM push_devices")] == ["d" * 64]


async def test_a_ban_removes_every_token_of_the_user(live, db):
    user = await login(live.http, live.outbox)
    await register(live, user)
    await db.execute(
        "UPDATE auth_sessions SET revoked_at = now(), revoke_reason = 'banned' WHERE user_id = $1", user.id
    )
    assert await db.fetchval("SELECT count(*) FROM push_devices") == 0


async def test_deleting_the_user_deletes_the_devices_and_queued_pushes(live, db):
    alex, casey = await login(live.http, live.outbox), await login(live.http, live.outbox)
    match_id = await make_match(db, alex, casey)
    await register(live, casey)
    await db.execute(
        "INSERT INTO messages (match_id, sender_id, content, seq) VALUES ($1, $2, 'x', 1)", match_id, alex.id
    )
    await db.execute("DELETE FROM users WHERE id = $1", casey.id)
    assert await db.fetchval("SELECT count(*) FROM push_devices") == 0
    assert await db.fetchval("SELECT count(*) FROM push_outbox") == 0


async def test_settings_have_private_defaults_and_round_trip(live):
    user = await login(live.http, live.outbox)
    defaults = (await live.http.get("/api/v1/notifications/settings", headers=user.headers)).json()
    assert defaults == {
        "success": True,
        "new_matches": True,
        "messages": True,
        "likes": True,
        "promotions": False,
        "message_previews": False,
        "quiet_hours_start": None,
        "quiet_hours_end": None,
        "timezone": "UTC",
    }
    chosen = {"likes": False, "quiet_hours_start": "22:00", "quiet_hours_end": "07:30", "timezone": "Europe/Berlin"}
    saved = await live.http.put("/api/v1/notifications/settings", headers=user.headers, json=chosen)
    assert saved.status_code == 200, saved.text
    again = (await live.http.get("/api/v1/notifications/settings", headers=user.headers)).json()
    assert {k: again[k] for k in chosen} == chosen and again["messages"] is True


async def test_settings_refuse_half_quiet_hours_and_unknown_zones(live):
    user = await login(live.http, live.outbox)
    for body, code in (
        ({"quiet_hours_start": "22:00"}, "invalid_quiet_hours"),
        ({"timezone": "Mars/Olympus"}, "invalid_timezone"),
    ):
        response = await live.http.put("/api/v1/notifications/settings", headers=user.headers, json=body)
        assert response.status_code == 422 and response.json()["error"]["code"] == code


async def test_only_a_participant_may_mute_a_match(live, db):
    alex, casey, stranger = [await login(live.http, live.outbox) for _ in range(3)]
    match_id = await make_match(db, alex, casey)
    refused = await live.http.put(
        f"/api/v1/notifications/matches/{match_id}", headers=stranger.headers, json={"muted": True}
    )
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "match_not_found"
    missing = await live.http.put(
        f"/api/v1/notifications/matches/{uuid.uuid4()}", headers=alex.headers, json={"muted": True}
    )
    assert missing.status_code == 404
    for muted in (True, False):
        response = await live.http.put(
            f"/api/v1/notifications/matches/{match_id}", headers=alex.headers, json={"muted": muted}
        )
        assert response.json() == {"success": True, "match_id": str(match_id), "muted": muted}
