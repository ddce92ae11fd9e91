"""Moderators cannot turn the role on each other or on their own cases, and every moderation action
leaves an audit row (who, what, to whom, when) that moderators can read."""

from __future__ import annotations

import json
import uuid

import pytest

from deployments.safety.cli import grant_moderator
from deployments.safety.repository import SafetyRepository
from kit.errors import ServiceUnavailable
from tests.factories import make_member
from tests.safety.conftest import make_match
from tests.safety.test_moderation import ban, file_report, resolve


@pytest.fixture
async def other_moderator(client, settings):
    user = await make_member(client, settings.sms_outbox, first_name="Mod2")
    await grant_moderator(settings.database_url, user.phone)
    return user


async def audit(client, who, **params):
    response = await client.get("/api/v1/moderation/audit", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


# --- guards ----------------------------------------------------------------------------------------


async def test_a_moderator_cannot_ban_a_moderator_and_learns_nothing_from_trying(
    client, moderator, other_moderator, db
):
    """404 exactly like an unknown user: a moderator account cannot even find out who else is one."""
    refused = await ban(client, moderator, other_moderator)
    unknown = await client.post(
        f"/api/v1/moderation/users/{uuid.uuid4()}/ban", headers=moderator.headers, json={"reason": "scam"}
    )
    assert refused.status_code == unknown.status_code == 404
    assert refused.content == unknown.content
    assert refused.json()["error"]["code"] == "user_not_found"
    assert await db.fetchval("SELECT banned_at FROM users WHERE id = $1", other_moderator.id) is None
    assert (
        await db.fetchval(
            "SELECT count(*) FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NOT NULL", other_moderator.id
        )
        == 0
    )


async def test_a_moderator_cannot_resolve_a_report_about_themselves(client, moderator, alice, db):
    report_id = await file_report(client, alice, moderator, block=False)
    response = await resolve(client, moderator, report_id, "dismissed")
    assert response.status_code == 404 and response.json()["error"]["code"] == "report_not_found"
    assert await db.fetchval("SELECT status FROM reports WHERE id = $1", uuid.UUID(report_id)) == "pending"
    assert await db.fetchval("SELECT count(*) FROM moderation_audit") == 0


async def test_a_report_about_a_moderator_is_missing_from_their_own_queue_only(
    client, moderator, other_moderator, alice
):
    report_id = await file_report(client, alice, moderator, block=False)
    mine = await client.get("/api/v1/moderation/reports?status=all", headers=moderator.headers)
    theirs = await client.get("/api/v1/moderation/reports?status=all", headers=other_moderator.headers)
    assert mine.json()["reports"] == []
    assert [r["id"] for r in theirs.json()["reports"]] == [report_id]


async def test_another_moderator_can_resolve_a_report_about_a_moderator(client, moderator, other_moderator, alice):
    report_id = await file_report(client, alice, moderator, block=False)
    assert (await resolve(client, other_moderator, report_id, "actioned")).status_code == 200


async def test_a_moderator_cannot_resolve_a_report_they_filed(client, moderator, other_moderator, bob, db):
    report_id = await file_report(client, moderator, bob, block=False)
    response = await resolve(client, moderator, report_id, "actioned")
    assert response.status_code == 403 and response.json()["error"]["code"] == "cannot_resolve_own_report"
    assert await db.fetchval("SELECT status FROM reports WHERE id = $1", uuid.UUID(report_id)) == "pending"
    assert (await resolve(client, other_moderator, report_id, "actioned")).status_code == 200


# --- the trail -------------------------------------------------------------------------------------


async def test_resolving_a_report_writes_an_audit_row(client, moderator, alice, bob, db):
    report_id = await file_report(client, alice, bob)
    await resolve(client, moderator, report_id, "actioned", note="warned")
    row = await db.fetchrow("SELECT * FROM moderation_audit")
    assert (row["actor_id"], row["action"], row["target_user_id"], str(row["report_id"])) == (
        moderator.id,
        "report_resolved",
        bob.id,
        report_id,
    )
    assert json.loads(row["details"]) == {
        "status": "actioned",
        "previous_status": "pending",
        "note": "warned",
        "unhid_user": False,
    }
    assert row["created_at"] is not None


async def test_a_ban_writes_an_audit_row_naming_what_it_closed_and_ended(client, moderator, alice, bob, db):
    report_id = await file_report(client, alice, bob, block=False)
    match_id = await make_match(db, alice, bob)
    await ban(client, moderator, bob, reason="scammer")
    row = await db.fetchrow("SELECT * FROM moderation_audit")
    assert (row["actor_id"], row["action"], row["target_user_id"], row["report_id"]) == (
        moderator.id,
        "user_banned",
        bob.id,
        None,
    )
    assert json.loads(row["details"]) == {
        "reason": "scammer",
        "already_banned": False,
        "reports_closed": [report_id],
        "matches_ended": [str(match_id)],
    }


async def test_an_audit_write_that_fails_undoes_the_ban(client, moderator, bob, db, monkeypatch):
    """The row is written in the action's own transaction: no action without its audit entry."""

    async def broken(self, *args, **kwargs):
        raise ServiceUnavailable("audit store unavailable")

    monkeypatch.setattr(SafetyRepository, "audit", broken)
    response = await ban(client, moderator, bob)
    assert response.status_code == 503 and response.json()["success"] is False
    assert await db.fetchval("SELECT banned_at FROM users WHERE id = $1", bob.id) is None
    assert (
        await db.fetchval("SELECT count(*) FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NOT NULL", bob.id)
        == 0
    )


async def test_refused_actions_leave_no_audit_row(client, moderator, other_moderator, alice, db):
    await ban(client, moderator, other_moderator)
    await ban(client, alice, moderator)  # not a moderator: 403
    assert await db.fetchval("SELECT count(*) FROM moderation_audit") == 0


async def test_the_audit_route_lists_entries_newest_first_with_who_what_and_when(
    client, moderator, alice, bob, settings
):
    carol = await make_member(client, settings.sms_outbox)
    report_id = await file_report(client, alice, bob)
    await resolve(client, moderator, report_id, "reviewing")
    await ban(client, moderator, carol, reason="spam")
    body = await audit(client, moderator)
    assert [(e["action"], e["actor_id"], e["target_user_id"]) for e in body["entries"]] == [
        ("user_banned", str(moderator.id), str(carol.id)),
        ("report_resolved", str(moderator.id), str(bob.id)),
    ]
    assert body["entries"][1]["report_id"] == report_id and body["entries"][1]["details"]["status"] == "reviewing"
    assert all(e["created_at"].endswith("Z") for e in body["entries"]) and body["next_offset"] is None


async def test_the_audit_route_is_paginated(client, moderator, settings):
    users = [await make_member(client, settings.sms_outbox) for _ in range(3)]
    for user in users:
        await ban(client, moderator, user)
    first = await audit(client, moderator, limit=2)
    second = await audit(client, moderator, limit=2, offset=first["next_offset"])
    assert first["next_offset"] == 2 and second["next_offset"] is None
    assert [e["target_user_id"] for e in first["entries"] + second["entries"]] == [str(u.id) for u in users[::-1]]


async def test_the_audit_route_filters_by_action_and_target(client, moderator, alice, bob, settings):
    carol = await make_member(client, settings.sms_outbox)
    await resolve(client, moderator, await file_report(client, alice, bob), "dismissed")
    await ban(client, moderator, carol)
    assert [e["action"] for e in (await audit(client, moderator, action="report_resolved"))["entries"]] == [
        "report_resolved"
    ]
    assert [e["target_user_id"] for e in (await audit(client, moderator, target_user_id=str(carol.id)))["entries"]] == [
        str(carol.id)
    ]
    bad = await client.get("/api/v1/moderation/audit?action=deleted", headers=moderator.headers)
    assert bad.status_code == 422 and bad.json()["success"] is False


async def test_audit_entries_about_the_caller_are_left_out(client, moderator, other_moderator, alice):
    report_id = await file_report(client, alice, moderator, block=False)
    await resolve(client, other_moderator, report_id, "dismissed")
    assert (await audit(client, moderator))["entries"] == []
    assert len((await audit(client, other_moderator))["entries"]) == 1


async def test_only_moderators_read_the_audit(client, alice):
    response = await client.get("/api/v1/moderation/audit", headers=alice.headers)
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_moderator"
    assert (await client.get("/api/v1/moderation/audit")).status_code == 401
