"""POST /api/v1/safety/report: validation, folding, evidence, the implied block, auto-hiding."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.safety.conftest import add_message, make_match

REASONS = [
    "inappropriate_behavior",
    "harassment",
    "spam",
    "fake_profile",
    "underage",
    "scam",
    "offline_behavior",
    "other",
]


async def report(client, who, whom, **body):
    payload = {"reported_user_id": str(whom.id), "reason": "harassment", "description": "Rude messages", **body}
    return await client.post("/api/v1/safety/report", json=payload, headers=who.headers)


async def test_report_answers_with_the_seed_shape_and_stores_a_pending_report(client, alice, bob, db):
    response = await report(client, alice, bob)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and set(body) == {"success", "report_id"}
    row = await db.fetchrow("SELECT * FROM reports WHERE id = $1", uuid.UUID(body["report_id"]))
    assert (row["reporter_id"], row["reported_user_id"], row["reason"], row["description"], row["status"]) == (
        alice.id,
        bob.id,
        "harassment",
        "Rude messages",
        "pending",
    )


@pytest.mark.parametrize("reason", REASONS)
async def test_every_documented_reason_is_accepted(client, alice, bob, reason):
    assert (await report(client, alice, bob, reason=reason, block=False)).status_code == 200


async def test_an_undocumented_reason_is_a_422(client, alice, bob, db):
    response = await report(client, alice, bob, reason="ugly")
    assert response.status_code == 422 and "reason" in response.json()["error"]["message"]
    assert await db.fetchval("SELECT count(*) FROM reports") == 0


async def test_a_description_over_1000_characters_is_a_422(client, alice, bob):
    assert (await report(client, alice, bob, description="x" * 1001)).status_code == 422
    assert (await report(client, alice, bob, description="x" * 1000)).status_code == 200


async def test_the_description_is_optional(client, alice, bob, db):
    payload = {"reported_user_id": str(bob.id), "reason": "spam"}
    response = await client.post("/api/v1/safety/report", json=payload, headers=alice.headers)
    assert response.status_code == 200
    assert await db.fetchval("SELECT description FROM reports") is None


async def test_unknown_fields_are_refused(client, alice, bob):
    assert (await report(client, alice, bob, status="actioned")).status_code == 422


async def test_reporting_yourself_is_a_422(client, alice, db):
    response = await report(client, alice, alice)
    assert response.status_code == 422 and response.json()["error"]["code"] == "cannot_report_self"
    assert await db.fetchval("SELECT count(*) FROM reports") == 0


async def test_reporting_an_unknown_user_is_a_404(client, alice):
    payload = {"reported_user_id": str(uuid.uuid4()), "reason": "spam"}
    response = await client.post("/api/v1/safety/report", json=payload, headers=alice.headers)
    assert response.status_code == 404 and response.json()["error"]["code"] == "user_not_found"


async def test_an_identical_report_within_a_day_folds_into_the_first(client, alice, bob, db):
    first = (await report(client, alice, bob)).json()["report_id"]
    second = (await report(client, alice, bob, description="Again")).json()["report_id"]
    assert first == second
    assert await db.fetchval("SELECT count(*) FROM reports") == 1


async def test_a_report_older_than_a_day_does_not_absorb_a_new_one(client, alice, bob, db):
    first = (await report(client, alice, bob)).json()["report_id"]
    await db.execute("UPDATE reports SET created_at = now() - interval '25 hours'")
    second = (await report(client, alice, bob)).json()["report_id"]
    assert first != second


async def test_a_different_reason_is_a_separate_report(client, alice, bob, db):
    first = (await report(client, alice, bob, reason="harassment")).json()["report_id"]
    second = (await report(client, alice, bob, reason="scam")).json()["report_id"]
    assert first != second and await db.fetchval("SELECT count(*) FROM reports") == 2


async def test_a_closed_report_does_not_absorb_a_new_one(client, alice, bob, db):
    first = (await report(client, alice, bob)).json()["report_id"]
    await db.execute("UPDATE reports SET status = 'dismissed'")
    assert (await report(client, alice, bob)).json()["report_id"] != first


async def test_reporting_also_blocks_by_default(client, alice, bob, db):
    await report(client, alice, bob)
    assert (
        await db.fetchval("SELECT count(*) FROM blocks WHERE blocker_id = $1 AND blocked_id = $2", alice.id, bob.id)
        == 1
    )


async def test_reporting_with_block_false_does_not_block(client, alice, bob, db):
    await report(client, alice, bob, block=False)
    assert await db.fetchval("SELECT count(*) FROM blocks") == 0


async def test_reporting_ends_the_match_and_tells_both(client, alice, bob, db, inbox):
    match_id = await make_match(db, alice, bob)
    async with inbox(alice, bob) as events:
        await report(client, alice, bob)
        heard = await events.drain()
    assert sorted(u for u, e, d in heard if e == "match_removed" and d["match_id"] == str(match_id)) == sorted(
        [alice.id, bob.id]
    )
    assert await db.fetchval("SELECT end_reason FROM matches WHERE id = $1", match_id) == "blocked"


async def test_reporting_across_an_existing_block_is_still_possible(client, alice, bob):
    """A harasser who blocks first must not be able to stop the victim from reporting them."""
    await client.post("/api/v1/safety/block", json={"user_id": str(alice.id)}, headers=bob.headers)
    assert (await report(client, alice, bob)).status_code == 200


async def test_the_recent_conversation_is_kept_as_evidence(client, alice, bob, db):
    match_id = await make_match(db, alice, bob)
    hello = await add_message(db, match_id, alice, "hello")
    rude = await add_message(db, match_id, bob, "something rude")
    report_id = (await report(client, alice, bob)).json()["report_id"]
    row = await db.fetchrow("SELECT match_id, evidence FROM reports WHERE id = $1", uuid.UUID(report_id))
    evidence = json.loads(row["evidence"])
    assert row["match_id"] == match_id and evidence["match"]["id"] == str(match_id)
    assert [(m["id"], m["sender_id"], m["content"], m["message_type"]) for m in evidence["messages"]] == [
        (str(hello), str(alice.id), "hello", "text"),
        (str(rude), str(bob.id), "something rude", "text"),
    ]
    assert all(m["sent_at"] for m in evidence["messages"]) and evidence["captured_at"]


async def test_evidence_survives_unmatching_and_deleting_the_messages(client, alice, bob, db):
    match_id = await make_match(db, alice, bob)
    await add_message(db, match_id, bob, "send me money")
    report_id = uuid.UUID((await report(client, alice, bob, reason="scam", block=False)).json()["report_id"])
    await db.execute("UPDATE matches SET is_active = false, end_reason = 'unmatched' WHERE id = $1", match_id)
    await db.execute("DELETE FROM messages WHERE match_id = $1", match_id)
    await db.execute("DELETE FROM matches WHERE id = $1", match_id)
    evidence = json.loads(await db.fetchval("SELECT evidence FROM reports WHERE id = $1", report_id))
    assert [m["content"] for m in evidence["messages"]] == ["send me money"]


async def test_evidence_is_taken_from_an_already_ended_match(client, alice, bob, db):
    match_id = await make_match(db, alice, bob)
    await add_message(db, match_id, bob, "see you never")
    await db.execute("UPDATE matches SET is_active = false, end_reason = 'unmatched' WHERE id = $1", match_id)
    await report(client, alice, bob)
    evidence = json.loads(await db.fetchval("SELECT evidence FROM reports"))
    assert evidence["match"]["is_active"] is False
    assert [m["content"] for m in evidence["messages"]] == ["see you never"]


async def test_evidence_keeps_the_last_100_messages_in_order(client, alice, bob, db):
    match_id = await make_match(db, alice, bob)
    for i in range(105):
        await add_message(db, match_id, bob, f"m{i}")
    await report(client, alice, bob)
    messages = json.loads(await db.fetchval("SELECT evidence FROM reports"))["messages"]
    assert [m["content"] for m in messages] == [f"m{i}" for i in range(5, 105)]


async def test_without_a_match_the_evidence_is_empty_but_present(client, alice, bob, db):
    await report(client, alice, bob)
    row = await db.fetchrow("SELECT match_id, evidence FROM reports")
    assert row["match_id"] is None and json.loads(row["evidence"])["messages"] == []


async def test_three_distinct_reporters_within_a_day_hide_the_profile(client, credible_reporter, bob, db):
    for n in range(3):
        assert await db.fetchval("SELECT hidden_at FROM users WHERE id = $1", bob.id) is None
        reporter = await credible_reporter(bob, first_name=f"R{n}")
        await report(client, reporter, bob, block=False)
    assert await db.fetchval("SELECT hidden_at FROM users WHERE id = $1", bob.id) is not None


async def test_one_reporter_repeating_themselves_does_not_hide_anyone(client, alice, bob, db):
    for reason in ["harassment", "spam", "scam", "other"]:
        await report(client, alice, bob, reason=reason)
    assert await db.fetchval("SELECT hidden_at FROM users WHERE id = $1", bob.id) is None


async def test_old_reports_do_not_count_towards_hiding(client, credible_reporter, bob, db):
    for _n in range(2):
        reporter = await credible_reporter(bob)
        await report(client, reporter, bob)
    await db.execute("UPDATE reports SET created_at = now() - interval '25 hours'")
    await report(client, await credible_reporter(bob), bob)
    assert await db.fetchval("SELECT hidden_at FROM users WHERE id = $1", bob.id) is None


async def test_the_hide_threshold_is_configurable(client, settings, app, credible_reporter, bob, db):
    app.state.resources.settings = settings.model_copy(update={"report_auto_hide_threshold": 1})
    await report(client, await credible_reporter(bob), bob)
    assert await db.fetchval("SELECT hidden_at FROM users WHERE id = $1", bob.id) is not None


async def test_reports_are_rate_limited_per_reporter(client, alice, bob, monkeypatch):
    from deployments.safety import router

    monkeypatch.setattr(router, "REPORTS_PER_HOUR", 2)
    answers = [(await report(client, alice, bob, reason=r, block=False)).status_code for r in ("spam", "scam", "other")]
    assert answers == [200, 200, 429]
