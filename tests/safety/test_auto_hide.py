"""Automatic hiding cannot be turned against someone: only reporters whose accounts were a day old
and who could have met the person (a match, past or present, or a feed that showed them) count.
Every other report waits in the moderation queue and hides nobody."""

from __future__ import annotations

import json

from tests.factories import make_member
from tests.matching.conftest import feed, ids  # noqa: F401 (fixtures)
from tests.safety.conftest import age_account, make_match, saw_in_feed


async def report(client, who, whom):
    response = await client.post(
        "/api/v1/safety/report",
        headers=who.headers,
        json={"reported_user_id": str(whom.id), "reason": "fake_profile", "block": False},
    )
    assert response.status_code == 200, response.text
    return response.json()["report_id"]


async def hidden(db, user) -> bool:
    return await db.fetchval("SELECT hidden_at FROM users WHERE id = $1", user.id) is not None


async def test_three_fresh_accounts_that_never_saw_the_target_cannot_hide_it(client, settings, bob, db):
    for _ in range(3):
        await report(client, await make_member(client, settings.sms_outbox), bob)
    assert not await hidden(db, bob)


async def test_reports_that_do_not_count_still_wait_in_the_moderation_queue(client, settings, moderator, bob):
    filed = {await report(client, await make_member(client, settings.sms_outbox), bob) for _ in range(3)}
    queue = (await client.get("/api/v1/moderation/reports", headers=moderator.headers)).json()["reports"]
    assert {r["id"] for r in queue} == filed
    assert all(r["status"] == "pending" and r["reported_user_hidden"] is False for r in queue)


async def test_old_accounts_that_never_met_the_target_cannot_hide_it(client, settings, bob, db):
    for _ in range(3):
        reporter = await make_member(client, settings.sms_outbox)
        await age_account(db, reporter)
        await report(client, reporter, bob)
    assert not await hidden(db, bob)


async def test_fresh_accounts_that_saw_the_target_in_their_feed_cannot_hide_it(client, settings, bob, db, feed):
    for _ in range(3):
        reporter = await make_member(client, settings.sms_outbox)
        assert bob.id in ids(await feed(reporter))
        await report(client, reporter, bob)
    assert not await hidden(db, bob)


async def test_three_older_accounts_that_matched_or_saw_the_target_hide_it(client, settings, bob, db, feed):
    current, past, viewer = [await make_member(client, settings.sms_outbox) for _ in range(3)]
    await make_match(db, current, bob)
    ended = await make_match(db, past, bob)
    await db.execute("UPDATE matches SET is_active = false, end_reason = 'unmatched' WHERE id = $1", ended)
    assert bob.id in ids(await feed(viewer))  # the real feed route records the impression
    for reporter in (current, past, viewer):
        await age_account(db, reporter)
    await db.execute("UPDATE matches SET matched_at = now() - interval '1 hour'")
    await db.execute("UPDATE feed_impressions SET first_shown_at = now() - interval '1 hour'")
    for reporter in (current, past):
        await report(client, reporter, bob)
        assert not await hidden(db, bob)
    await report(client, viewer, bob)
    assert await hidden(db, bob)


async def test_an_account_that_was_under_a_day_old_when_it_reported_never_counts(client, settings, bob, db):
    """Accounts 30 hours old now, which reported 20 hours ago (10 hours old then): growing older
    after reporting does not make the report count."""
    reporters = [await make_member(client, settings.sms_outbox) for _ in range(3)]
    for reporter in reporters[:2]:
        await saw_in_feed(db, reporter, bob)
        await report(client, reporter, bob)
    others = [r.id for r in reporters[:2]]
    await db.execute("UPDATE users SET created_at = now() - interval '30 hours' WHERE id = ANY($1)", others)
    await db.execute("UPDATE reports SET created_at = now() - interval '20 hours'")
    await db.execute("UPDATE feed_impressions SET first_shown_at = now() - interval '25 hours'")
    third = reporters[2]
    await age_account(db, third)
    await saw_in_feed(db, third, bob)
    await report(client, third, bob)  # a report that counts, and the count of all three again
    assert not await hidden(db, bob)


async def test_a_banned_reporter_no_longer_counts(client, credible_reporter, bob, db):
    first, second = await credible_reporter(bob), await credible_reporter(bob)
    await report(client, first, bob)
    await report(client, second, bob)
    await db.execute("UPDATE users SET banned_at = now() WHERE id = $1", first.id)
    await report(client, await credible_reporter(bob), bob)
    assert not await hidden(db, bob)


async def test_an_automatic_hide_is_audited_without_an_actor(client, credible_reporter, bob, db):
    for _ in range(2):
        await report(client, await credible_reporter(bob), bob)
    assert await db.fetchval("SELECT count(*) FROM moderation_audit") == 0
    last = await report(client, await credible_reporter(bob), bob)
    row = await db.fetchrow("SELECT * FROM moderation_audit")
    assert (row["action"], row["actor_id"], row["target_user_id"], str(row["report_id"])) == (
        "user_auto_hidden",
        None,
        bob.id,
        last,
    )
    assert json.loads(row["details"]) == {"qualifying_reporters": 3, "threshold": 3, "window_hours": 24}
    assert row["created_at"] is not None


async def test_reports_after_the_hide_do_not_audit_it_again(client, credible_reporter, bob, db):
    for _ in range(4):
        await report(client, await credible_reporter(bob), bob)
    assert await db.fetchval("SELECT count(*) FROM moderation_audit WHERE action = 'user_auto_hidden'") == 1
