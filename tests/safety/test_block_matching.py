"""A block holds in matching: feeds both ways, likes-you, swipes, the match list; reports and bans
take people out of feeds. Everything goes through the real safety routes."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from deployments.backends import Backends
from deployments.matching.repository import MatchingRepository
from deployments.matching.service import MatchingService
from deployments.photos.lifecycle import Photos
from deployments.safety.repository import SafetyRepository
from deployments.safety.service import SafetyService
from tests.factories import make_member
from tests.matching.conftest import feed, ids, make_premium, swipe  # noqa: F401 (fixtures)


async def block(client, who, whom):
    response = await client.post("/api/v1/safety/block", json={"user_id": str(whom.id)}, headers=who.headers)
    assert response.status_code == 200, response.text


async def matched(swipe, a, b) -> uuid.UUID:
    await swipe(a, b, "like")
    body = (await swipe(b, a, "like")).json()
    assert body["is_match"] is True, body
    return uuid.UUID(body["match_id"])


async def match_ids(client, user) -> list[str]:
    response = await client.get("/api/v1/matching/matches", headers=user.headers)
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["matches"]]


async def test_the_blocked_user_leaves_the_blockers_feed(client, alice, bob, feed):
    assert bob.id in ids(await feed(alice))
    await block(client, alice, bob)
    assert bob.id not in ids(await feed(alice))


async def test_the_blocker_leaves_the_blocked_users_feed(client, alice, bob, feed):
    assert alice.id in ids(await feed(bob))
    await block(client, alice, bob)
    assert alice.id not in ids(await feed(bob))


async def test_unblocking_does_not_bring_back_a_pair_that_matched(client, alice, bob, feed, swipe):
    await matched(swipe, alice, bob)
    await block(client, alice, bob)
    await client.delete(f"/api/v1/safety/block/{bob.id}", headers=alice.headers)
    assert bob.id not in ids(await feed(alice)) and alice.id not in ids(await feed(bob))


@pytest.mark.parametrize("blocker", ["admirer", "admired"])
async def test_a_block_either_way_removes_the_like_from_likes_you(client, alice, bob, swipe, make_premium, blocker):
    await make_premium(alice)
    await swipe(bob, alice, "like")
    before = (await client.get("/api/v1/matching/likes-you", headers=alice.headers)).json()
    assert before["count"] == 1 and [u["id"] for u in before["users"]] == [str(bob.id)]
    await (block(client, bob, alice) if blocker == "admirer" else block(client, alice, bob))
    after = (await client.get("/api/v1/matching/likes-you", headers=alice.headers)).json()
    assert after["count"] == 0 and after["users"] == []


async def test_after_a_block_neither_side_can_swipe_on_the_other(client, alice, bob, swipe, db):
    await block(client, alice, bob)
    for who, whom in ((alice, bob), (bob, alice)):
        response = await swipe(who, whom, "like")
        assert response.status_code == 404 and response.json()["error"]["code"] == "user_not_found"
    assert await db.fetchval("SELECT count(*) FROM swipes") == 0


async def test_a_block_takes_the_match_out_of_both_match_lists(client, alice, bob, swipe, db):
    match_id = await matched(swipe, alice, bob)
    assert await match_ids(client, alice) == [str(match_id)] == await match_ids(client, bob)
    await block(client, bob, alice)
    assert await match_ids(client, alice) == [] and await match_ids(client, bob) == []
    assert await db.fetchval("SELECT end_reason FROM matches WHERE id = $1", match_id) == "blocked"


async def test_a_swipe_racing_a_block_cannot_make_a_match(app, client, alice, bob, swipe, db):
    """The block holds the pair's swipe lock until it commits, so the swipe sees the block."""
    await swipe(alice, bob, "like")
    async with app.state.resources.sessionmaker() as session:
        await SafetyService(SafetyRepository(session), app.state.resources.settings).block(alice.id, bob.id)
        racing = asyncio.ensure_future(swipe(bob, alice, "like"))
        while not await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"):
            assert not racing.done(), (await racing).text  # it must wait for the block, not finish first
            await asyncio.sleep(0.01)
        await session.commit()
    response = await racing
    assert response.status_code == 404 and response.json()["error"]["code"] == "user_not_found"
    assert await db.fetchval("SELECT count(*) FROM matches") == 0


async def test_a_block_racing_a_mutual_like_ends_the_new_match(app, client, alice, bob, swipe, db):
    """The other order: the swipe holds the pair lock, the block waits for it and then ends the match."""
    await swipe(alice, bob, "like")
    resources = app.state.resources
    async with resources.sessionmaker() as session:
        service = MatchingService(
            MatchingRepository(session), resources.settings, resources.get(Backends), resources.get(Photos).photo_url
        )
        assert (await service.swipe(bob.id, alice.id, "like")).is_match
        racing = asyncio.ensure_future(block(client, alice, bob))
        while not await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"):
            assert not racing.done()  # it must wait for the swipe, not finish first
            await asyncio.sleep(0.01)
        await session.commit()
    await racing
    assert await db.fetchval("SELECT is_active FROM matches") is False
    assert await match_ids(client, alice) == [] and await match_ids(client, bob) == []


async def test_reaching_the_report_threshold_takes_the_profile_out_of_feeds(
    client, settings, alice, bob, feed, credible_reporter
):
    assert bob.id in ids(await feed(alice))
    for _n in range(settings.report_auto_hide_threshold):
        reporter = await credible_reporter(bob)
        response = await client.post(
            "/api/v1/safety/report",
            headers=reporter.headers,
            json={"reported_user_id": str(bob.id), "reason": "fake_profile", "block": False},
        )
        assert response.status_code == 200
    assert bob.id not in ids(await feed(alice))


async def test_a_banned_user_leaves_feeds_likes_you_and_match_lists(
    client, settings, alice, bob, swipe, feed, make_premium, moderator
):
    carol = await make_member(client, settings.sms_outbox, first_name="Carol")
    await make_premium(carol)
    await matched(swipe, alice, bob)
    await swipe(bob, carol, "like")
    response = await client.post(
        f"/api/v1/moderation/users/{bob.id}/ban", headers=moderator.headers, json={"reason": "scam"}
    )
    assert response.status_code == 200
    assert bob.id not in ids(await feed(carol))
    assert (await client.get("/api/v1/matching/likes-you", headers=carol.headers)).json()["count"] == 0
    assert await match_ids(client, alice) == []


async def test_evidence_survives_an_unmatch_through_the_api(client, alice, bob, swipe, db):
    match_id = await matched(swipe, alice, bob)
    sent = await client.post(
        "/api/v1/messages/send",
        headers=bob.headers,
        json={"match_id": str(match_id), "content": "give me your bank details"},
    )
    assert sent.status_code == 200, sent.text
    report = await client.post(
        "/api/v1/safety/report",
        headers=alice.headers,
        json={"reported_user_id": str(bob.id), "reason": "scam", "block": False},
    )
    report_id = uuid.UUID(report.json()["report_id"])
    assert (await client.delete(f"/api/v1/matching/matches/{match_id}", headers=bob.headers)).status_code == 200
    evidence = json.loads(await db.fetchval("SELECT evidence FROM reports WHERE id = $1", report_id))
    assert [(m["sender_id"], m["content"]) for m in evidence["messages"]] == [
        (str(bob.id), "give me your bank details")
    ]


async def test_a_report_after_an_unmatch_still_captures_the_conversation(client, alice, bob, swipe, db):
    match_id = await matched(swipe, alice, bob)
    await client.post(
        "/api/v1/messages/send",
        headers=bob.headers,
        json={"match_id": str(match_id), "content": "you'll regret unmatching"},
    )
    assert (await client.delete(f"/api/v1/matching/matches/{match_id}", headers=alice.headers)).status_code == 200
    await client.post(
        "/api/v1/safety/report", headers=alice.headers, json={"reported_user_id": str(bob.id), "reason": "harassment"}
    )
    evidence = json.loads(await db.fetchval("SELECT evidence FROM reports"))
    assert evidence["match"]["id"] == str(match_id) and evidence["match"]["is_active"] is False
    assert [m["content"] for m in evidence["messages"]] == ["you'll regret unmatching"]
