"""GET /api/v1/matching/matches and DELETE /matches/{id}."""

from __future__ import annotations

import uuid

from deployments.realtime.bus import user_channel
from tests.matching.conftest import ids


async def matched(swipe, a, b) -> str:
    await swipe(a, b, "like")
    body = (await swipe(b, a, "like")).json()
    assert body["is_match"] is True
    return body["match_id"]


async def post_message(db, match_id, sender, content: str, *, is_read: bool = False, minutes_ago: int = 0) -> uuid.UUID:
    seq = await db.fetchval(
        "UPDATE matches SET last_seq = last_seq + 1, "
        "last_message_at = now() - make_interval(mins => $2) WHERE id = $1 RETURNING last_seq",
        uuid.UUID(match_id),
        minutes_ago,
    )
    return await db.fetchval(
        "INSERT INTO messages (match_id, sender_id, content, message_type, is_read, seq, sent_at) "
        "VALUES ($1, $2, $3, 'text', $4, $5, now() - make_interval(mins => $6)) RETURNING id",
        uuid.UUID(match_id),
        sender.id,
        content,
        is_read,
        seq,
        minutes_ago,
    )


async def list_matches(client, user, **params) -> dict:
    response = await client.get("/api/v1/matching/matches", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_match_lists_the_other_person_with_photos_and_no_message_yet(member, swipe, client, db):
    alice, bob = await member(first_name="Alice"), await member(first_name="Bob")
    await db.execute(
        "INSERT INTO profile_photos (user_id, photo_url, is_primary, order_index) VALUES "
        "($1, 'https://cdn/2.jpg', false, 1), ($1, 'https://cdn/1.jpg', true, 2)",
        bob.id,
    )
    match_id = await matched(swipe, alice, bob)
    body = await list_matches(client, alice)
    [match] = body["matches"]
    assert body["success"] is True and body["next_offset"] is None
    assert match["id"] == match_id and match["matched_at"]
    assert match["user"] == {
        "id": str(bob.id),
        "first_name": "Bob",
        "photos": ["https://cdn/1.jpg", "https://cdn/2.jpg"],
    }
    assert match["last_message"] is None and match["unread_count"] == 0
    assert (await list_matches(client, bob))["matches"][0]["user"]["id"] == str(alice.id)


async def test_last_message_and_unread_count_come_from_the_other_persons_messages(member, swipe, client, db):
    alice, bob = await member(), await member()
    match_id = await matched(swipe, alice, bob)
    await post_message(db, match_id, bob, "hi", minutes_ago=3)
    await post_message(db, match_id, bob, "there", minutes_ago=2, is_read=True)
    await post_message(db, match_id, bob, "again", minutes_ago=1)
    last_id = await post_message(db, match_id, alice, "hello!")
    [mine] = (await list_matches(client, alice))["matches"]
    assert mine["unread_count"] == 2
    last = mine["last_message"]
    assert last["id"] == str(last_id) and last["content"] == "hello!" and last["message_type"] == "text"
    assert last["sender_id"] == str(alice.id) and last["sent_at"]
    assert (await list_matches(client, bob))["matches"][0]["unread_count"] == 1  # alice's "hello!"


async def test_matches_are_ordered_by_newest_activity_and_paginated(member, swipe, client, db):
    me = await member()
    quiet, chatty, newest = await member(), await member(), await member()
    quiet_id = await matched(swipe, me, quiet)
    chatty_id = await matched(swipe, me, chatty)
    newest_id = await matched(swipe, me, newest)
    await post_message(db, chatty_id, chatty, "still there?")
    first = await list_matches(client, me, limit=2)
    assert [m["id"] for m in first["matches"]] == [chatty_id, newest_id] and first["next_offset"] == 2
    rest = await list_matches(client, me, limit=2, offset=first["next_offset"])
    assert [m["id"] for m in rest["matches"]] == [quiet_id] and rest["next_offset"] is None


async def test_unmatch_ends_the_match_for_both_and_tells_both(member, swipe, client, db, inbox, feed):
    alice, bob = await member(), await member()
    match_id = await matched(swipe, alice, bob)
    await inbox.listen(alice, bob)
    response = await client.delete(f"/api/v1/matching/matches/{match_id}", headers=bob.headers)
    assert response.status_code == 200 and response.json()["success"] is True
    assert (await list_matches(client, alice))["matches"] == []
    assert (await list_matches(client, bob))["matches"] == []
    row = await db.fetchrow("SELECT * FROM matches WHERE id = $1", uuid.UUID(match_id))
    assert row["is_active"] is False and row["unmatched_by"] == bob.id and row["unmatched_at"] is not None
    frames = await inbox.collect(2)
    assert sorted(channel for channel, _ in frames) == sorted([user_channel(alice.id), user_channel(bob.id)])
    assert all(f == {"event": "match_removed", "data": {"match_id": match_id}} for _, f in frames)
    assert bob.id not in ids(await feed(alice))  # an ended match never comes back to the feed


async def test_only_participants_can_unmatch(member, swipe, client, db):
    alice, bob, mallory = await member(), await member(), await member()
    match_id = await matched(swipe, alice, bob)
    response = await client.delete(f"/api/v1/matching/matches/{match_id}", headers=mallory.headers)
    assert response.status_code == 404
    assert (await client.delete(f"/api/v1/matching/matches/{uuid.uuid4()}", headers=alice.headers)).status_code == 404
    assert await db.fetchval("SELECT is_active FROM matches WHERE id = $1", uuid.UUID(match_id)) is True


async def test_unmatching_twice_is_harmless(member, swipe, client):
    alice, bob = await member(), await member()
    match_id = await matched(swipe, alice, bob)
    first = await client.delete(f"/api/v1/matching/matches/{match_id}", headers=alice.headers)
    again = await client.delete(f"/api/v1/matching/matches/{match_id}", headers=bob.headers)
    assert first.status_code == again.status_code == 200


async def test_a_repeated_like_after_unmatch_is_not_a_match(member, swipe, client):
    alice, bob = await member(), await member()
    match_id = await matched(swipe, alice, bob)
    await client.delete(f"/api/v1/matching/matches/{match_id}", headers=alice.headers)
    assert (await swipe(alice, bob, "like")).json() == {"success": True, "is_match": False}


async def test_matches_limit_is_capped_at_50(member, client):
    alice = await member()
    response = await client.get("/api/v1/matching/matches", params={"limit": 51}, headers=alice.headers)
    assert response.status_code == 422
