"""Who gets a push, and how many: closed apps get one per collapsed burst with the unread badge;
open sockets get none; blocks and reads cancel queued pushes; previews stay off unless chosen."""

from __future__ import annotations

import asyncio

from tests.chat.conftest import connect, make_match
from tests.factories import login
from tests.push.conftest import TOPIC, drain, name, register


async def send(live, sender, match_id, content="meet at 8?"):
    response = await live.http.post(
        "/api/v1/messages/send", headers=sender.headers, json={"match_id": str(match_id), "content": content}
    )
    assert response.status_code == 200, response.text
    return response.json()["message"]


async def test_a_closed_app_gets_one_push_per_burst_with_the_unread_badge(live, db, apns, sockets):
    alex, blake, casey = [await login(live.http, live.outbox) for _ in range(3)]
    await name(live, alex, "Alex")
    to_blake, to_casey = await make_match(db, alex, blake), await make_match(db, alex, casey)
    for user in (alex, blake, casey):  # after the matches: this test is about messages
        await register(live, user)
    sockets.extend([await connect(live, alex), await connect(live, blake)])  # casey's app is closed
    for text in ("hi", "are you there?", "secret plans"):
        await send(live, alex, to_casey, text)
    await send(live, alex, to_blake)
    assert (await sockets[1].next("new_message"))["data"]["message"]["content"] == "meet at 8?"

    await drain(live)

    assert len(apns.received) == 1, [(p["token"], p["payload"]) for p in apns.received]
    [push] = apns.received
    assert push["token"] == (await db.fetchval("SELECT token FROM push_devices WHERE user_id = $1", casey.id))
    aps = push["payload"]["aps"]
    assert aps["badge"] == 3 and aps["thread-id"] == f"match:{to_casey}"
    assert aps["alert"] == {"title": "New message", "body": "Alex sent you 3 messages"}
    assert push["headers"]["apns-collapse-id"] == f"message:{to_casey}"
    assert push["headers"]["apns-topic"] == TOPIC and push["headers"]["apns-push-type"] == "alert"
    assert "secret" not in str(push["payload"]) and casey.phone not in str(push["payload"])
    assert await db.fetchval("SELECT count(*) FROM push_outbox") == 0


async def test_a_second_burst_after_the_first_push_is_a_second_push(live, db, apns):
    alex, casey = await login(live.http, live.outbox), await login(live.http, live.outbox)
    match_id = await make_match(db, alex, casey)
    await register(live, casey)
    await send(live, alex, match_id)
    await drain(live)
    await send(live, alex, match_id)
    await send(live, alex, match_id)
    await drain(live)
    assert [p["payload"]["aps"]["badge"] for p in apns.received] == [1, 3]


async def test_reconnecting_stops_further_pushes_and_backgrounding_resumes_them(live, db, apns, sockets):
    alex, casey = await login(live.http, live.outbox), await login(live.http, live.outbox)
    match_id = await make_match(db, alex, casey)
    await register(live, casey)
    await send(live, alex, match_id)
    await drain(live)
    assert len(apns.received) == 1

    sock = await connect(live, casey)
    sockets.append(sock)
    await send(live, alex, match_id, "second")
    await sock.next("new_message")
    await drain(live)
    assert len(apns.received) == 1  # the open app got it on its socket

    await sock.send("app_state", {"state": "background"})
    await sock.quiet(0.2)
    await send(live, alex, match_id, "third")
    await drain(live)
    assert len(apns.received) == 2


async def test_a_message_seen_on_a_socket_that_then_closed_is_not_pushed(live, db, apns):
    alex, casey = await login(live.http, live.outbox), await login(live.http, live.outbox)
    match_id = await make_match(db, alex, casey)
    await register(live, casey)
    sock = await connect(live, casey)
    await send(live, alex, match_id)
    await sock.next("new_message")
    await sock.close()
    await drain(live)
    assert apns.received == []


async def test_a_block_cancels_a_queued_push(live, db, apns):
    alex, casey = await login(live.http, live.outbox), await login(live.http, live.outbox)
    match_id = await make_match(db, alex, casey)
    await register(live, casey)
    await send(live, alex, match_id)
    assert await db.fetchval("SELECT count(*) FROM push_outbox WHERE user_id = $1", casey.id) == 1
    blocked = await live.http.post("/api/v1/safety/block", headers=casey.headers, json={"user_id": str(alex.id)})
    assert blocked.status_code == 200, blocked.text
    await drain(live)
    assert apns.received == []
    assert await db.fetchval("SELECT count(*) FROM push_outbox") == 0


async def test_a_banned_sender_and_a_read_message_cause_no_push(live, db, apns):
    alex, casey, drew = [await login(live.http, live.outbox) for _ in range(3)]
    banned_match, read_match = await make_match(db, alex, casey), await make_match(db, drew, casey)
    await register(live, casey)
    await send(live, alex, banned_match)
    await send(live, drew, read_match)
    await db.execute("UPDATE users SET banned_at = now() WHERE id = $1", alex.id)
    read = await live.http.post("/api/v1/messages/mark-read", headers=casey.headers, json={"match_id": str(read_match)})
    assert read.status_code == 200, read.text
    await drain(live)
    assert apns.received == []


async def test_a_muted_conversation_is_not_pushed(live, db, apns):
    alex, casey = await login(live.http, live.outbox), await login(live.http, live.outbox)
    match_id = await make_match(db, alex, casey)
    await register(live, casey)
    muted = await live.http.put(
        f"/api/v1/notifications/matches/{match_id}", headers=casey.headers, json={"muted": True}
    )
    assert muted.status_code == 200 and muted.json()["muted"] is True
    await send(live, alex, match_id)
    await drain(live)
    assert apns.received == []


async def test_previews_are_off_by_default_and_show_the_text_once_chosen(live, db, apns, fcm):
    alex, casey = await login(live.http, live.outbox), await login(live.http, live.outbox)
    await name(live, alex, "Alex")
    match_id = await make_match(db, alex, casey)
    await register(live, casey, "android")
    await send(live, alex, match_id, "dinner at Luigi's?")
    await drain(live)
    chosen = await live.http.put(
        "/api/v1/notifications/settings", headers=casey.headers, json={"message_previews": True}
    )
    assert chosen.status_code == 200, chosen.text
    await send(live, alex, match_id, "or sushi?")
    await drain(live)

    first, second = (m["message"] for m in fcm.received)
    assert first["notification"] == {"title": "New message", "body": "Alex sent you a message"}
    assert "Luigi" not in str(first)
    assert second["notification"] == {"title": "Alex", "body": "or sushi?"}
    assert first["android"]["collapse_key"] == f"message:{match_id}"
    assert first["android"]["notification"]["tag"] == f"message:{match_id}"


async def test_only_users_with_a_device_get_outbox_rows(live, db):
    alex, casey = await login(live.http, live.outbox), await login(live.http, live.outbox)
    match_id = await make_match(db, alex, casey)
    await send(live, alex, match_id)
    assert await db.fetchval("SELECT count(*) FROM push_outbox") == 0


async def test_a_rolled_back_message_leaves_no_outbox_row(live, db):
    alex, casey = await login(live.http, live.outbox), await login(live.http, live.outbox)
    match_id = await make_match(db, alex, casey)
    await register(live, casey)
    insert = "INSERT INTO messages (match_id, sender_id, content, seq) VALUES ($1, $2, 'x', $3)"
    transaction = db.transaction()
    await transaction.start()
    await db.execute(insert, match_id, alex.id, 1)
    assert await db.fetchval("SELECT count(*) FROM push_outbox") == 1  # written with the message...
    await transaction.rollback()
    assert await db.fetchval("SELECT count(*) FROM push_outbox") == 0  # ...and gone with it
    await db.execute(insert, match_id, alex.id, 1)
    assert await db.fetchval("SELECT count(*) FROM push_outbox") == 1


async def test_two_dispatchers_at_once_send_each_push_once(live, native_settings, db, apns):
    from deployments.push.lifecycle import Push, build_dispatcher
    from kit.db import LazyPool

    users = [await login(live.http, live.outbox) for _ in range(12)]
    sender = users.pop()
    for user in users:
        match_id = await make_match(db, sender, user)
        await register(live, user)
        await send(live, sender, match_id)
    push = live.app.state.resources.get(Push)
    pool = LazyPool(native_settings.database_url, max_size=4)
    second = build_dispatcher(native_settings.model_copy(update={"push_batch_size": 3}), pool, push.presence)
    try:
        await asyncio.gather(drain(live), second.run_once(), second.run_once())
        await drain(live)
    finally:
        await second.close()
        await pool.close()
    assert sorted(apns.tokens()) == sorted(
        r["token"] for r in await db.fetch("SELECT token FROM push_devices WHERE user_id <> $1", sender.id)
    )
