"""DELETE /api/v1/account: out of sight at once, every trace erased by the purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deployments.account.lifecycle import purger
from kit.security import phone_hmac
from tests.account.conftest import everything
from tests.chat.conftest import closed_with, connect
from tests.factories import login

# Columns that may name an erased account, and why (README, "Data we keep and for how long").
KEPT = {
    ("reports", "reporter_id"),
    ("reports", "reported_user_id"),
    ("reports", "evidence"),  # safety evidence
    ("moderation_audit", "target_user_id"),
    ("moderation_audit", "details"),  # the moderation trail
}


async def traces(db, *needles: str) -> dict[tuple[str, str], int]:
    """Every text, uuid and json column of every table in the schema that holds one of the needles."""
    columns = await db.fetch("""
        SELECT table_name, column_name FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> 'alembic_version'
           AND data_type IN ('uuid', 'text', 'character varying', 'jsonb', 'json', 'ARRAY')""")
    found = {}
    for column in columns:
        table, name = column["table_name"], column["column_name"]
        hits = await db.fetchval(
            f'SELECT count(*) FROM "{table}" WHERE '
            + " OR ".join(f'strpos("{name}"::text, ${i + 1}) > 0' for i in range(len(needles))),
            *needles,
        )
        if hits:
            found[(table, name)] = hits
    return found


async def test_deleting_ends_sessions_sockets_and_matches_at_once(live, db, sockets, stripe_api):
    world = await everything(live, db)
    mine, partners = await connect(live, world.me), await connect(live, world.partner)
    sockets.extend([mine, partners])

    deleted = await live.http.delete("/api/v1/account", headers=world.me.headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["success"] is True

    assert (await mine.next("session_ended"))["data"]["reason"] == "account_deleted"
    assert await closed_with(mine) == 4401
    assert await partners.next("match_removed") == {"event": "match_removed", "data": {"match_id": str(world.match_id)}}
    assert (await live.http.get("/api/v1/profile/me", headers=world.me.headers)).status_code == 401
    refreshed = await live.http.post(
        "/api/v1/auth/refresh-token", headers={"Authorization": f"Bearer {world.me.refresh_token}"}
    )
    assert refreshed.status_code == 401
    matches = (await live.http.get("/api/v1/matching/matches", headers=world.partner.headers)).json()
    assert matches["matches"] == []
    feed = (await live.http.get("/api/v1/matching/feed", headers=world.seen.headers)).json()
    assert str(world.me.id) not in {card["id"] for card in feed["users"]}
    # The paid plan ended with the provider: cancelled now, nothing renews.
    assert stripe_api.subscriptions[world.subscription_id]["status"] == "canceled"


async def test_the_purge_leaves_no_trace_but_the_documented_evidence(live, db, settings):
    world = await everything(live, db)
    assert (await live.http.delete("/api/v1/account", headers=world.me.headers)).status_code == 200
    assert (await db.fetchval("SELECT count(*) FROM users WHERE id = $1", world.me.id)) == 1  # not yet

    resources = live.app.state.resources
    resources.settings = settings.model_copy(update={"account_purge_delay_s": 0})
    counts = await purger(resources).run()

    assert counts is not None and counts["accounts_erased"] == 1
    found = await traces(db, str(world.me.id), world.me.phone)
    assert set(found) <= KEPT, found
    # The report they filed and the one about them stay as evidence; the number only as an HMAC.
    assert (
        await db.fetchval(
            "SELECT count(*) FROM reports WHERE reported_user_id = $1 AND reported_phone_hmac = $2",
            world.me.id,
            phone_hmac(settings, world.me.phone),
        )
        == 1
    )
    media = settings.media_root
    assert not [path for path in media.rglob("*") if path.name in world.keys]
    assert await db.fetchval("SELECT count(*) FROM media_deletions") == 0
    # Everyone else keeps their account.
    for other in (world.partner, world.seen, world.blocked, world.reporter):
        assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", other.id) == 1


async def test_a_deletion_needs_a_recent_login(live, db):
    world_user = await login(live.http, live.outbox)
    await db.execute(
        "UPDATE auth_sessions SET created_at = now() - interval '1 hour' WHERE user_id = $1", world_user.id
    )
    refused = await live.http.delete("/api/v1/account", headers=world_user.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "recent_login_required"
    assert await db.fetchval("SELECT deleted_at FROM users WHERE id = $1", world_user.id) is None


async def test_logging_in_before_the_purge_restores_the_account(live, db):
    user = await login(live.http, live.outbox)
    assert (await live.http.delete("/api/v1/account", headers=user.headers)).status_code == 200
    again = await login(live.http, live.outbox, user.phone)
    assert again.id == user.id
    assert (await live.http.get("/api/v1/profile/me", headers=again.headers)).status_code == 200
    assert await db.fetchval("SELECT deleted_at FROM users WHERE id = $1", user.id) is None


async def test_an_erased_banned_number_cannot_sign_up_again(live, db, settings):
    user = await login(live.http, live.outbox)
    await db.execute(
        "UPDATE users SET banned_at = now(), deleted_at = now() - interval '2 days' WHERE id = $1", user.id
    )
    resources = live.app.state.resources
    assert (await purger(resources).run() or {})["accounts_erased"] == 1
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", user.id) == 0
    assert (
        await db.fetchval("SELECT count(*) FROM banned_phones WHERE phone_hmac = $1", phone_hmac(settings, user.phone))
        == 1
    )
    await live.http.post("/api/v1/auth/send-otp", json={"phone_number": user.phone})
    from tests.factories import last_code

    refused = await live.http.post(
        "/api/v1/auth/verify-otp", json={"phone_number": user.phone, "otp": last_code(live.outbox, user.phone)}
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_banned"


async def test_the_purge_is_one_at_a_time(live, db, settings):
    resources = live.app.state.resources
    async with resources.engine.connect() as conn:
        from sqlalchemy import text

        from deployments.account.service import PURGE_LOCK

        assert await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": PURGE_LOCK})
        assert await purger(resources).run() is None  # another purge holds the lock: skipped
        await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PURGE_LOCK})
    assert await purger(resources).run() is not None


def _ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
