"""/api/v1/messages over HTTP: send, read a conversation, mark read."""

from __future__ import annotations

import uuid

from tests.chat.conftest import make_match, pair
from tests.factories import login


async def send(client, user, match_id, content="hi", **extra):
    return await client.post(
        "/api/v1/messages/send", headers=user.headers, json={"match_id": str(match_id), "content": content, **extra}
    )


async def test_send_persists_the_message_and_answers_with_its_seq(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    response = await send(client, a, match_id, "Hi there!")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    message = body["message"]
    assert {"id", "match_id", "sender_id", "content", "message_type", "sent_at", "seq"} <= message.keys()
    assert message["content"] == "Hi there!" and message["seq"] == 1 and message["sender_id"] == str(a.id)
    row = await db.fetchrow("SELECT content, seq, is_read FROM messages WHERE id = $1", uuid.UUID(message["id"]))
    assert dict(row) == {"content": "Hi there!", "seq": 1, "is_read": False}
    assert await db.fetchval("SELECT last_seq FROM matches WHERE id = $1", match_id) == 1


async def test_both_participants_share_one_sequence(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    seqs = [
        (await send(client, user, match_id, f"m{i}")).json()["message"]["seq"] for i, user in enumerate([a, b, a, b])
    ]
    assert seqs == [1, 2, 3, 4]


async def test_a_retry_with_the_same_client_message_id_returns_the_first_message(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    first = await send(client, a, match_id, "once", client_message_id="c-1")
    again = await send(client, a, match_id, "once", client_message_id="c-1")
    assert first.status_code == again.status_code == 200
    assert again.json()["message"] == first.json()["message"]
    assert await db.fetchval("SELECT count(*) FROM messages WHERE match_id = $1", match_id) == 1
    assert await db.fetchval("SELECT last_seq FROM matches WHERE id = $1", match_id) == 1


async def test_text_the_database_cannot_store_is_a_422_and_takes_no_seq(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    response = await send(client, a, match_id, "nul\u0000byte")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_value"
    assert await db.fetchval("SELECT count(*) FROM messages WHERE match_id = $1", match_id) == 0
    assert (await send(client, a, match_id, "fine")).json()["message"]["seq"] == 1


async def test_the_other_participant_may_reuse_a_client_message_id(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    assert (await send(client, a, match_id, client_message_id="same")).status_code == 200
    assert (await send(client, b, match_id, client_message_id="same")).status_code == 200
    assert await db.fetchval("SELECT count(*) FROM messages WHERE match_id = $1", match_id) == 2


async def test_a_stranger_gets_404_for_send_read_and_mark_read(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    stranger = await login(client, settings.sms_outbox)
    sent = await send(client, stranger, match_id)
    read = await client.get(f"/api/v1/messages/conversations/{match_id}", headers=stranger.headers)
    marked = await client.post("/api/v1/messages/mark-read", headers=stranger.headers, json={"match_id": str(match_id)})
    assert [r.status_code for r in (sent, read, marked)] == [404, 404, 404]
    assert sent.json()["error"]["code"] == "match_not_found"
    missing = await send(client, a, uuid.uuid4())
    assert missing.status_code == 404


async def test_an_unmatched_pair_gets_403_and_nothing_is_stored(client, settings, db):
    a, b = await login(client, settings.sms_outbox), await login(client, settings.sms_outbox)
    match_id = await make_match(db, a, b, active=False)
    sent = await send(client, a, match_id)
    read = await client.get(f"/api/v1/messages/conversations/{match_id}", headers=b.headers)
    assert (sent.status_code, read.status_code) == (403, 403)
    assert sent.json()["error"]["code"] == "match_inactive"
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


async def test_a_block_in_either_direction_answers_like_an_ended_match(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    c, d, ended_id = await pair(client, settings.sms_outbox, db)
    await db.execute("UPDATE matches SET is_active = false WHERE id = $1", ended_id)
    ended = (await send(client, c, ended_id)).json()
    await db.execute("INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)", b.id, a.id)
    for user in (a, b):
        response = await send(client, user, match_id)
        assert response.status_code == 403 and response.json() == ended
    assert await db.fetchval("SELECT last_seq FROM matches WHERE id = $1", match_id) == 0


async def test_content_rules_are_422(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    too_long = "x" * (settings.message_max_chars + 1)
    cases = [
        ("", "text"),
        ("   ", "text"),
        (too_long, "text"),
        ("http://example.com/a.jpg", "photo"),
        ("not a url", "gif"),
        ("https://", "photo"),
        ("javascript:alert(1)", "gif"),
    ]
    for content, kind in cases:
        response = await send(client, a, match_id, content, message_type=kind)
        assert response.status_code == 422, (content[:20], kind, response.text)
    bad_type = await send(client, a, match_id, "hi", message_type="video")
    unknown_field = await send(client, a, match_id, "hi", sender_id=str(b.id))
    assert bad_type.status_code == unknown_field.status_code == 422
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


async def test_photo_and_gif_take_an_https_url_and_text_may_be_exactly_the_limit(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    photo = await send(client, a, match_id, "https://cdn.example.com/p/1.jpg", message_type="photo")
    gif = await send(client, a, match_id, "https://media.example.com/g.gif", message_type="gif")
    longest = await send(client, a, match_id, "é" * settings.message_max_chars)
    assert [r.status_code for r in (photo, gif, longest)] == [200, 200, 200]
    assert photo.json()["message"]["message_type"] == "photo"


async def test_sending_is_limited_to_the_configured_rate_per_user(client, settings, db):
    settings.rate_messages_per_minute = 3
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    codes = [(await send(client, a, match_id, f"m{i}")).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = await send(client, a, match_id, "again")
    assert limited.json()["error"]["code"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
    assert (await send(client, b, match_id, "other user")).status_code == 200


async def test_conversation_returns_the_newest_page_in_chronological_order(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    ids = [(await send(client, a if i % 2 else b, match_id, f"m{i}")).json()["message"]["id"] for i in range(7)]
    page = await client.get(f"/api/v1/messages/conversations/{match_id}?limit=3", headers=a.headers)
    assert page.status_code == 200
    body = page.json()
    assert [m["content"] for m in body["messages"]] == ["m4", "m5", "m6"] and body["has_more"] is True
    assert {"id", "sender_id", "content", "sent_at", "is_read", "seq"} <= body["messages"][0].keys()
    older = await client.get(
        f"/api/v1/messages/conversations/{match_id}", params={"limit": 3, "before": ids[4]}, headers=a.headers
    )
    assert [m["content"] for m in older.json()["messages"]] == ["m1", "m2", "m3"]
    oldest = await client.get(
        f"/api/v1/messages/conversations/{match_id}", params={"limit": 3, "before": ids[1]}, headers=a.headers
    )
    assert [m["content"] for m in oldest.json()["messages"]] == ["m0"] and oldest.json()["has_more"] is False


async def test_after_returns_what_arrived_since_a_message_for_catch_up(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    ids = [(await send(client, a, match_id, f"m{i}")).json()["message"]["id"] for i in range(5)]
    caught = await client.get(
        f"/api/v1/messages/conversations/{match_id}", params={"after": ids[1], "limit": 2}, headers=b.headers
    )
    assert [m["content"] for m in caught.json()["messages"]] == ["m2", "m3"] and caught.json()["has_more"] is True
    rest = await client.get(f"/api/v1/messages/conversations/{match_id}", params={"after": ids[3]}, headers=b.headers)
    assert [m["content"] for m in rest.json()["messages"]] == ["m4"] and rest.json()["has_more"] is False


async def test_before_accepts_a_timestamp(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    for i in range(3):
        await send(client, a, match_id, f"m{i}")
    await db.execute(
        "UPDATE messages SET sent_at = now() - interval '1 hour' WHERE seq = 1 AND match_id = $1", match_id
    )
    page = await client.get(
        f"/api/v1/messages/conversations/{match_id}", params={"before": "2000-01-01T00:00:00Z"}, headers=a.headers
    )
    assert page.json()["messages"] == []
    recent = await client.get(
        f"/api/v1/messages/conversations/{match_id}",
        params={"before": (await db.fetchval("SELECT (now() - interval '30 minutes')::text"))},
        headers=a.headers,
    )
    assert [m["content"] for m in recent.json()["messages"]] == ["m0"]


async def test_bad_cursors_and_limits_are_4xx(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    url = f"/api/v1/messages/conversations/{match_id}"
    assert (await client.get(url, params={"before": "yesterday"}, headers=a.headers)).status_code == 422
    assert (await client.get(url, params={"after": "2026-01-01T00:00:00Z"}, headers=a.headers)).status_code == 422
    assert (await client.get(url, params={"after": str(uuid.uuid4())}, headers=a.headers)).status_code == 404
    assert (await client.get(url, params={"limit": 101}, headers=a.headers)).status_code == 422
    assert (await client.get(url, params={"limit": 0}, headers=a.headers)).status_code == 422


async def test_a_message_id_from_another_conversation_is_not_a_cursor(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    c, d, other_match = await pair(client, settings.sms_outbox, db)
    foreign = (await send(client, c, other_match, "elsewhere")).json()["message"]["id"]
    response = await client.get(
        f"/api/v1/messages/conversations/{match_id}", params={"after": foreign}, headers=a.headers
    )
    assert response.status_code == 404


async def test_mark_read_marks_only_the_other_participants_unread_messages(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    for i in range(3):
        await send(client, a, match_id, f"from a {i}")
    await send(client, b, match_id, "from b")
    response = await client.post("/api/v1/messages/mark-read", headers=b.headers, json={"match_id": str(match_id)})
    assert response.status_code == 200 and response.json() == {"success": True, "marked_count": 3}
    rows = await db.fetch(
        "SELECT sender_id, is_read, read_at IS NOT NULL AS stamped FROM messages WHERE match_id = $1", match_id
    )
    assert all(r["is_read"] and r["stamped"] for r in rows if r["sender_id"] == a.id)
    assert not any(r["is_read"] for r in rows if r["sender_id"] == b.id)
    again = await client.post("/api/v1/messages/mark-read", headers=b.headers, json={"match_id": str(match_id)})
    assert again.json()["marked_count"] == 0


async def test_mark_read_with_ids_marks_only_those_and_ignores_own_messages(client, settings, db):
    a, b, match_id = await pair(client, settings.sms_outbox, db)
    theirs = [(await send(client, a, match_id, f"a{i}")).json()["message"]["id"] for i in range(3)]
    mine = (await send(client, b, match_id, "b")).json()["message"]["id"]
    response = await client.post(
        "/api/v1/messages/mark-read",
        headers=b.headers,
        json={"match_id": str(match_id), "message_ids": [theirs[0], mine]},
    )
    assert response.json()["marked_count"] == 1
    assert await db.fetchval("SELECT count(*) FROM messages WHERE is_read") == 1
