"""/api/v1/moderation: moderators work the report queue and ban; ordinary users get 403 everywhere."""

from __future__ import annotations

import uuid

import pytest

from deployments.safety.cli import grant_moderator, revoke_moderator
from kit.errors import NotFound
from tests.factories import last_code, login, make_member
from tests.safety.conftest import add_message, make_match


async def file_report(client, who, whom, reason="harassment", block=True) -> str:
    response = await client.post(
        "/api/v1/safety/report",
        headers=who.headers,
        json={"reported_user_id": str(whom.id), "reason": reason, "description": "bad", "block": block},
    )
    assert response.status_code == 200, response.text
    return response.json()["report_id"]


async def resolve(client, who, report_id, status, note="checked"):
    return await client.post(
        f"/api/v1/moderation/reports/{report_id}/resolve", headers=who.headers, json={"status": status, "note": note}
    )


async def ban(client, who, whom, reason="scam"):
    return await client.post(f"/api/v1/moderation/users/{whom.id}/ban", headers=who.headers, json={"reason": reason})


# --- the role --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", "/api/v1/moderation/reports?status=pending", None),
        ("POST", "/api/v1/moderation/reports/{report}/resolve", {"status": "dismissed", "note": "x"}),
        ("POST", "/api/v1/moderation/users/{user}/ban", {"reason": "x"}),
    ],
)
async def test_ordinary_users_get_403_on_every_moderation_route(client, alice, bob, db, method, path, body):
    report_id = await file_report(client, alice, bob)
    url = path.format(report=report_id, user=bob.id)
    response = await client.request(method, url, json=body, headers=alice.headers)
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_moderator"
    assert await db.fetchval("SELECT status FROM reports") == "pending"
    assert await db.fetchval("SELECT banned_at FROM users WHERE id = $1", bob.id) is None


async def test_moderation_routes_need_a_login(client):
    assert (await client.get("/api/v1/moderation/reports")).status_code == 401


async def test_the_api_cannot_grant_the_moderator_role(client, alice, db):
    response = await client.put("/api/v1/profile/me", json={"is_moderator": True}, headers=alice.headers)
    assert response.status_code == 422
    assert await db.fetchval("SELECT is_moderator FROM users WHERE id = $1", alice.id) is False


async def test_the_cli_grants_the_role_to_an_existing_account_and_it_works_at_once(client, settings, alice, db):
    assert (await client.get("/api/v1/moderation/reports", headers=alice.headers)).status_code == 403
    assert await grant_moderator(settings.database_url, alice.phone) == alice.id
    assert await db.fetchval("SELECT is_moderator FROM users WHERE id = $1", alice.id) is True
    assert (await client.get("/api/v1/moderation/reports", headers=alice.headers)).status_code == 200


async def test_the_cli_accepts_a_loosely_formatted_number(settings, client, db):
    user = await login(client, settings.sms_outbox, phone="+12025550199")
    await grant_moderator(settings.database_url, "+1 (202) 555-0199")
    assert await db.fetchval("SELECT is_moderator FROM users WHERE id = $1", user.id) is True


async def test_the_cli_refuses_an_unknown_number(settings):
    with pytest.raises(NotFound):
        await grant_moderator(settings.database_url, "+12025550188")


async def test_the_cli_can_take_the_role_back(client, settings, moderator):
    await revoke_moderator(settings.database_url, moderator.phone)
    assert (await client.get("/api/v1/moderation/reports", headers=moderator.headers)).status_code == 403


# --- the queue -------------------------------------------------------------------------------------


async def test_moderators_list_pending_reports_with_their_evidence(client, moderator, alice, bob, db):
    match_id = await make_match(db, alice, bob)
    await add_message(db, match_id, bob, "rude words")
    report_id = await file_report(client, alice, bob)
    response = await client.get("/api/v1/moderation/reports?status=pending", headers=moderator.headers)
    assert response.status_code == 200
    [item] = response.json()["reports"]
    assert item["id"] == report_id and item["status"] == "pending" and item["reason"] == "harassment"
    assert item["reporter_id"] == str(alice.id) and item["reported_user_id"] == str(bob.id)
    assert item["match_id"] == str(match_id)
    assert [m["content"] for m in item["evidence"]["messages"]] == ["rude words"]


async def test_evidence_timestamps_read_like_every_other_timestamp_of_the_api(client, moderator, alice, bob, db):
    match_id = await make_match(db, alice, bob)
    await add_message(db, match_id, bob, "rude words")
    await file_report(client, alice, bob)
    [item] = (await client.get("/api/v1/moderation/reports", headers=moderator.headers)).json()["reports"]
    evidence = item["evidence"]
    stamps = [evidence["captured_at"], evidence["match"]["matched_at"], evidence["messages"][0]["sent_at"]]
    assert item["created_at"].endswith("Z") and all(stamp.endswith("Z") for stamp in stamps), stamps


async def test_the_pending_list_leaves_out_resolved_reports(client, moderator, alice, bob, settings):
    done = await file_report(client, alice, bob)
    await resolve(client, moderator, done, "dismissed")
    carol = await make_member(client, settings.sms_outbox)
    open_one = await file_report(client, carol, bob)
    pending = (await client.get("/api/v1/moderation/reports", headers=moderator.headers)).json()["reports"]
    assert [r["id"] for r in pending] == [open_one]
    everything = (await client.get("/api/v1/moderation/reports?status=all", headers=moderator.headers)).json()
    assert {r["id"] for r in everything["reports"]} == {done, open_one}


async def test_an_unknown_status_filter_is_a_422(client, moderator):
    assert (await client.get("/api/v1/moderation/reports?status=weird", headers=moderator.headers)).status_code == 422


async def test_resolving_records_status_note_moderator_and_time(client, moderator, alice, bob, db):
    report_id = await file_report(client, alice, bob)
    response = await resolve(client, moderator, report_id, "actioned", note="warned the user")
    assert response.status_code == 200
    report = response.json()["report"]
    assert report["status"] == "actioned" and report["resolution_note"] == "warned the user"
    assert report["resolved_by"] == str(moderator.id) and report["resolved_at"]
    row = await db.fetchrow("SELECT status, resolved_by FROM reports WHERE id = $1", uuid.UUID(report_id))
    assert (row["status"], row["resolved_by"]) == ("actioned", moderator.id)


async def test_reviewing_is_not_a_final_resolution(client, moderator, alice, bob):
    report_id = await file_report(client, alice, bob)
    report = (await resolve(client, moderator, report_id, "reviewing")).json()["report"]
    assert report["status"] == "reviewing" and report["resolved_at"] is None


async def test_resolving_to_pending_or_nonsense_is_a_422(client, moderator, alice, bob):
    report_id = await file_report(client, alice, bob)
    assert (await resolve(client, moderator, report_id, "pending")).status_code == 422
    assert (await resolve(client, moderator, report_id, "deleted")).status_code == 422


async def test_resolving_an_unknown_report_is_a_404(client, moderator):
    assert (await resolve(client, moderator, uuid.uuid4(), "dismissed")).status_code == 404


async def hide_by_three(client, credible_reporter, target) -> list[str]:
    ids = []
    for _n in range(3):
        reporter = await credible_reporter(target)
        ids.append(await file_report(client, reporter, target, block=False))
    return ids


async def test_dismissing_every_open_report_lifts_an_automatic_hide(client, credible_reporter, moderator, bob, db):
    ids = await hide_by_three(client, credible_reporter, bob)
    for report_id in ids[:-1]:
        await resolve(client, moderator, report_id, "dismissed")
        assert await db.fetchval("SELECT hidden_at FROM users WHERE id = $1", bob.id) is not None
    report = (await resolve(client, moderator, ids[-1], "dismissed")).json()["report"]
    assert report["reported_user_hidden"] is False
    assert await db.fetchval("SELECT hidden_at FROM users WHERE id = $1", bob.id) is None


async def test_an_actioned_report_keeps_the_profile_hidden(client, credible_reporter, moderator, bob, db):
    ids = await hide_by_three(client, credible_reporter, bob)
    for report_id in ids[:-1]:
        await resolve(client, moderator, report_id, "dismissed")
    report = (await resolve(client, moderator, ids[-1], "actioned")).json()["report"]
    assert report["reported_user_hidden"] is True
    assert await db.fetchval("SELECT hidden_at FROM users WHERE id = $1", bob.id) is not None


async def test_dismissed_reports_stop_counting_towards_a_new_hide(client, credible_reporter, moderator, bob, db):
    for report_id in await hide_by_three(client, credible_reporter, bob):
        await resolve(client, moderator, report_id, "dismissed")
    await file_report(client, await credible_reporter(bob), bob)
    assert await db.fetchval("SELECT hidden_at FROM users WHERE id = $1", bob.id) is None


# --- bans ------------------------------------------------------------------------------------------


async def test_a_ban_sets_banned_at_and_closes_the_open_reports(client, moderator, alice, bob, db):
    report_id = await file_report(client, alice, bob)
    response = await ban(client, moderator, bob, reason="scammer")
    assert response.status_code == 200 and response.json()["success"] is True
    row = await db.fetchrow("SELECT banned_at, ban_reason FROM users WHERE id = $1", bob.id)
    assert row["banned_at"] is not None and row["ban_reason"] == "scammer"
    assert await db.fetchval("SELECT status FROM reports WHERE id = $1", uuid.UUID(report_id)) == "actioned"


async def test_a_banned_users_tokens_stop_working_at_once(client, moderator, bob, db):
    assert (await client.get("/api/v1/profile/me", headers=bob.headers)).status_code == 200
    await ban(client, moderator, bob)
    assert (await client.get("/api/v1/profile/me", headers=bob.headers)).status_code == 401
    refreshed = await client.post(
        "/api/v1/auth/refresh-token", headers={"Authorization": f"Bearer {bob.refresh_token}"}
    )
    assert refreshed.status_code == 401
    assert (
        await db.fetchval("SELECT count(*) FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL", bob.id) == 0
    )


async def test_a_banned_number_cannot_log_in_again(client, app, settings, moderator, bob):
    await ban(client, moderator, bob)
    await app.state.resources.redis.flushdb()  # skip the resend cooldown
    await client.post("/api/v1/auth/send-otp", json={"phone_number": bob.phone})
    response = await client.post(
        "/api/v1/auth/verify-otp", json={"phone_number": bob.phone, "otp": last_code(settings.sms_outbox, bob.phone)}
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "account_banned"


async def test_a_ban_tells_every_live_socket_of_the_user_to_close(client, moderator, bob, inbox):
    async with inbox(bob) as events:
        await ban(client, moderator, bob)
        heard = await events.drain()
    assert (bob.id, "_session_ended", {"session_id": None, "reason": "banned"}) in heard


async def test_a_ban_ends_the_users_matches_and_tells_the_other_side(client, moderator, alice, bob, db, inbox):
    match_id = await make_match(db, alice, bob)
    async with inbox(alice) as events:
        await ban(client, moderator, bob)
        heard = await events.drain()
    assert heard == [(alice.id, "match_removed", {"match_id": str(match_id)})]
    assert await db.fetchval("SELECT end_reason FROM matches WHERE id = $1", match_id) == "banned"


async def test_banning_twice_is_idempotent(client, moderator, bob, db):
    await ban(client, moderator, bob, reason="first")
    assert (await ban(client, moderator, bob, reason="second")).status_code == 200
    assert await db.fetchval("SELECT ban_reason FROM users WHERE id = $1", bob.id) == "first"


async def test_banning_an_unknown_user_is_a_404_and_yourself_a_422(client, moderator):
    response = await client.post(
        f"/api/v1/moderation/users/{uuid.uuid4()}/ban", headers=moderator.headers, json={"reason": "x"}
    )
    assert response.status_code == 404
    assert (await ban(client, moderator, moderator)).status_code == 422


async def test_a_ban_needs_a_reason(client, moderator, bob):
    response = await client.post(f"/api/v1/moderation/users/{bob.id}/ban", headers=moderator.headers, json={})
    assert response.status_code == 422
    assert (await ban(client, moderator, bob, reason="   ")).status_code == 422


async def test_a_banned_account_is_refused_even_with_a_session_that_was_not_revoked(client, bob, db):
    """Belt and braces: CurrentUser checks banned_at itself, not only the revoked sessions."""
    await db.execute("UPDATE users SET banned_at = now() WHERE id = $1", bob.id)
    response = await client.get("/api/v1/safety/blocks", headers=bob.headers)
    assert response.status_code == 401 and response.json()["error"]["code"] == "account_inactive"
