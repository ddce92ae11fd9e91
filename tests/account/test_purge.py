"""The purge: inactive accounts (warned once by SMS first), expired codes and sessions, orphaned media."""

from __future__ import annotations

import json

from deployments.account.lifecycle import purger, standalone_purge
from tests.factories import login


async def test_an_inactive_account_is_warned_once_then_erased(live, db, settings):
    user = await login(live.http, live.outbox)
    await db.execute(
        "UPDATE users SET last_active_at = now() - interval '720 days', last_login = NULL, "
        "created_at = now() - interval '800 days' WHERE id = $1",
        user.id,
    )
    resources = live.app.state.resources
    assert (await purger(resources).run() or {})["inactivity_warnings_sent"] == 1
    assert (await purger(resources).run() or {})["inactivity_warnings_sent"] == 0  # once
    texts = [json.loads(line) for line in settings.sms_outbox.read_text().splitlines()]
    assert [t for t in texts if t["to"] == user.phone and "inactive" in t["body"]]
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", user.id) == 1  # not before the warning ran out

    await db.execute(
        "UPDATE users SET last_active_at = now() - interval '731 days', "
        "inactivity_warned_at = now() - interval '31 days' WHERE id = $1",
        user.id,
    )
    counts = await purger(resources).run() or {}
    assert counts["inactive_accounts"] == 1 and counts["accounts_erased"] == 1
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", user.id) == 0


async def test_an_active_account_is_left_alone(live, db):
    user = await login(live.http, live.outbox)
    counts = await purger(live.app.state.resources).run() or {}
    assert counts["inactivity_warnings_sent"] == 0 and counts["accounts_erased"] == 0
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", user.id) == 1


async def test_expired_codes_ended_sessions_and_orphaned_media_go(live, db, settings):
    user = await login(live.http, live.outbox)
    await db.execute("UPDATE otp_challenges SET expires_at = now() - interval '2 days'")
    await db.execute("UPDATE auth_sessions SET revoked_at = now() - interval '2 days' WHERE user_id = $1", user.id)
    orphan = settings.media_root / "ab" / "abcdefghijklmnopqrstuvwxyz0123d.jpg"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"x")
    purge = purger(live.app.state.resources)
    purge.orphan_min_age_s = 0
    counts = await purge.run() or {}
    assert counts["otp_challenges"] >= 1 and counts["sessions"] == 1
    assert counts["orphaned_media"] == 1 and not orphan.exists()
    assert await db.fetchval("SELECT count(*) FROM otp_challenges") == 0
    assert await db.fetchval("SELECT count(*) FROM auth_sessions") == 0


async def test_the_command_line_purge_erases_what_is_due(live, db, settings):
    user = await login(live.http, live.outbox)
    await db.execute("UPDATE users SET deleted_at = now() - interval '2 days' WHERE id = $1", user.id)
    counts = await standalone_purge(settings)
    assert counts is not None and counts["accounts_erased"] == 1
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", user.id) == 0
