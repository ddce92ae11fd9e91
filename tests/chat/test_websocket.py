"""/ws: authentication, delivery of server events, client events, and bad frames."""

from __future__ import annotations

import json

import websockets

from deployments.realtime.bus import EventBus
from deployments.realtime.lifecycle import Realtime
from tests.chat.conftest import closed_with, connect, make_match, pair
from tests.factories import login


async def http_send(live, user, match_id, content="hi", **extra):
    response = await live.http.post(
        "/api/v1/messages/send", headers=user.headers, json={"match_id": str(match_id), "content": content, **extra}
    )
    assert response.status_code == 200, response.text
    return response.json()["message"]


async def test_authenticate_answers_with_the_user_id(live, db, sockets):
    user = await login(live.http, live.outbox)
    sockets.append(await connect(live, user))  # connect() asserts the `authenticated` frame


async def test_a_bad_token_gets_an_error_and_close_4401(live, sockets):
    sock = await connect(live)
    sockets.append(sock)
    await sock.send("authenticate", {"token": "not-a-token"})
    assert (await sock.next())["data"]["code"] == "invalid_token"
    assert await closed_with(sock) == 4401


async def test_a_first_frame_other_than_authenticate_is_refused(live, sockets):
    sock = await connect(live)
    sockets.append(sock)
    await sock.send("typing_start", {"match_id": "x"})
    frame = await sock.next()
    assert frame["event"] == "error" and frame["data"]["code"] == "missing_token"
    assert await closed_with(sock) == 4401


async def test_no_authenticate_within_the_timeout_closes_4401(live, sockets):
    live.app.state.resources.get(Realtime).hub.auth_timeout_s = 0.3
    sock = await connect(live)
    sockets.append(sock)
    assert (await sock.next())["data"]["code"] == "auth_timeout"
    assert await closed_with(sock) == 4401


async def test_a_token_in_the_url_is_ignored(live, sockets):
    user = await login(live.http, live.outbox)
    live.app.state.resources.get(Realtime).hub.auth_timeout_s = 0.3
    ws = await websockets.connect(f"{live.ws_url}?token={user.token}")
    frame = json.loads(await ws.recv())
    assert frame["event"] == "error" and frame["data"]["code"] == "auth_timeout"
    await ws.close()


async def test_a_revoked_session_cannot_open_a_socket(live, sockets):
    user = await login(live.http, live.outbox)
    assert (await live.http.post("/api/v1/auth/logout", headers=user.headers)).status_code == 200
    sock = await connect(live)
    sockets.append(sock)
    await sock.send("authenticate", {"token": user.token})
    assert (await sock.next())["data"]["code"] == "session_revoked"
    assert await closed_with(sock) == 4401


async def test_a_banned_user_cannot_open_a_socket(live, db, sockets):
    user = await login(live.http, live.outbox)
    await db.execute("UPDATE users SET banned_at = now() WHERE id = $1", user.id)
    sock = await connect(live)
    sockets.append(sock)
    await sock.send("authenticate", {"token": user.token})
    assert (await sock.next())["data"]["code"] == "account_inactive"


async def test_http_send_reaches_every_device_of_the_recipient_and_the_senders_other_devices(
    live, db, sockets, settings
):
    settings.otp_resend_cooldown_s = 0
    a, b, match_id = await pair(live, live.outbox, db)
    b_phone, b_tablet = await connect(live, b), await connect(live, b)
    a_other_device = await login(live.http, live.outbox, a.phone)  # a second session of the same user
    a_same_session, a_other = await connect(live, a), await connect(live, a_other_device)
    sockets.extend([b_phone, b_tablet, a_same_session, a_other])
    message = await http_send(live, a, match_id, "hello there")
    for sock in (b_phone, b_tablet, a_other):
        frame = await sock.next("new_message")
        assert frame["data"]["message"] == message
    assert not [f for f in await a_same_session.quiet() if f["event"] == "new_message"]


async def test_send_message_over_the_socket_is_acknowledged_after_it_is_stored(live, db, sockets):
    a, b, match_id = await pair(live, live.outbox, db)
    sa, sb = await connect(live, a), await connect(live, b)
    sockets.extend([sa, sb])
    await sa.send("send_message", {"match_id": str(match_id), "content": "over ws", "client_message_id": "w1"})
    ack = await sa.next("message_sent")
    assert ack["data"]["client_message_id"] == "w1" and ack["data"]["message"]["seq"] == 1
    stored = await db.fetchval("SELECT content FROM messages WHERE id = $1::uuid", ack["data"]["message"]["id"])
    assert stored == "over ws"
    assert (await sb.next("new_message"))["data"]["message"] == ack["data"]["message"]
    await sa.send("send_message", {"match_id": str(match_id), "content": "over ws", "client_message_id": "w1"})
    assert (await sa.next("message_sent"))["data"]["message"]["id"] == ack["data"]["message"]["id"]
    assert await db.fetchval("SELECT count(*) FROM messages") == 1


async def test_a_socket_retry_takes_no_seq_and_bad_text_is_an_error_event(live, db, sockets):
    a, b, match_id = await pair(live, live.outbox, db)
    sa = await connect(live, a)
    sockets.append(sa)
    for key in ("r1", "r1"):
        await sa.send("send_message", {"match_id": str(match_id), "content": "once", "client_message_id": key})
        assert (await sa.next("message_sent"))["data"]["message"]["seq"] == 1
    await sa.send("send_message", {"match_id": str(match_id), "content": "nul\u0000byte"})
    assert (await sa.next("error"))["data"]["code"] == "invalid_value"
    await sa.send("send_message", {"match_id": str(match_id), "content": "next"})
    assert (await sa.next("message_sent"))["data"]["message"]["seq"] == 2
    assert await db.fetchval("SELECT last_seq FROM matches WHERE id = $1", match_id) == 2


async def test_socket_events_follow_the_http_access_rules(live, db, sockets):
    a, b, match_id = await pair(live, live.outbox, db)
    stranger = await login(live.http, live.outbox)
    c = await login(live.http, live.outbox)
    ended = await make_match(db, stranger, c, active=False)
    sock = await connect(live, stranger)
    sockets.append(sock)
    await sock.send("send_message", {"match_id": str(match_id), "content": "hi"})
    assert (await sock.next("error"))["data"]["code"] == "match_not_found"
    await sock.send("typing_start", {"match_id": str(match_id)})
    assert (await sock.next("error"))["data"]["code"] == "match_not_found"
    await sock.send("mark_read", {"match_id": str(ended)})
    assert (await sock.next("error"))["data"]["code"] == "match_inactive"
    await sock.send("send_message", {"match_id": str(ended), "content": ""})
    error = (await sock.next("error"))["data"]
    assert error["code"] == "invalid_content" and error["event"] == "send_message"
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


async def test_the_message_rate_limit_is_an_error_event(live, db, sockets, settings):
    settings.rate_messages_per_minute = 2
    a, b, match_id = await pair(live, live.outbox, db)
    sock = await connect(live, a)
    sockets.append(sock)
    for i in range(3):
        await sock.send("send_message", {"match_id": str(match_id), "content": f"m{i}", "client_message_id": f"r{i}"})
    frames = [await sock.next() for _ in range(3)]
    assert [f["event"] for f in frames] == ["message_sent", "message_sent", "error"]
    assert frames[2]["data"]["code"] == "rate_limited" and frames[2]["data"]["client_message_id"] == "r2"


async def test_typing_is_forwarded_to_the_other_participant_only(live, db, sockets):
    a, b, match_id = await pair(live, live.outbox, db)
    sa, sb = await connect(live, a), await connect(live, b)
    sockets.extend([sa, sb])
    await sa.send("typing_start", {"match_id": str(match_id)})
    frame = await sb.next("user_typing")
    assert frame["data"] == {"match_id": str(match_id), "user_id": str(a.id), "is_typing": True}
    await sa.send("typing_stop", {"match_id": str(match_id)})
    assert (await sb.next("user_typing"))["data"]["is_typing"] is False
    assert not [f for f in await sa.quiet() if f["event"] == "user_typing"]


async def test_a_socket_that_closes_while_typing_stops_the_indicator(live, db, sockets):
    a, b, match_id = await pair(live, live.outbox, db)
    sa, sb = await connect(live, a), await connect(live, b)
    sockets.append(sb)
    await sa.send("typing_start", {"match_id": str(match_id)})
    assert (await sb.next("user_typing"))["data"]["is_typing"] is True
    await sa.close()
    assert (await sb.next("user_typing"))["data"]["is_typing"] is False


async def test_mark_read_pushes_message_read_to_the_sender(live, db, sockets):
    a, b, match_id = await pair(live, live.outbox, db)
    sa, sb = await connect(live, a), await connect(live, b)
    sockets.extend([sa, sb])
    ids = [(await http_send(live, a, match_id, f"m{i}"))["id"] for i in range(2)]
    await sb.send("mark_read", {"match_id": str(match_id)})
    ack = await sb.next("marked_read")
    assert ack["data"]["marked_count"] == 2
    read = await sa.next("message_read")
    assert read["data"] == {"match_id": str(match_id), "reader_id": str(b.id), "message_ids": ids}


async def test_http_mark_read_also_pushes_message_read(live, db, sockets):
    a, b, match_id = await pair(live, live.outbox, db)
    sa = await connect(live, a)
    sockets.append(sa)
    first = await http_send(live, a, match_id, "m0")
    response = await live.http.post(
        "/api/v1/messages/mark-read", headers=b.headers, json={"match_id": str(match_id), "message_ids": [first["id"]]}
    )
    assert response.json()["marked_count"] == 1
    assert (await sa.next("message_read"))["data"]["message_ids"] == [first["id"]]


async def test_bad_frames_get_error_events_and_the_socket_keeps_working(live, db, sockets):
    user = await login(live.http, live.outbox)
    sock = await connect(live, user)
    sockets.append(sock)
    await sock.ws.send("{not json")
    assert (await sock.next())["data"]["code"] == "malformed_json"
    await sock.ws.send(json.dumps({"event": "x", "data": {"pad": "y" * (64 * 1024)}}))
    assert (await sock.next())["data"]["code"] == "frame_too_large"
    await sock.send("launch_rockets", {})
    assert (await sock.next())["data"]["code"] == "unknown_event"
    await sock.ws.send(b"\x00\x01")
    assert (await sock.next())["data"]["code"] == "unsupported_frame"
    await sock.ws.send(json.dumps(["event", "ping"]))
    assert (await sock.next())["data"]["code"] == "invalid_frame"
    await sock.send("typing_start", {"match_id": "not-a-uuid"})
    assert (await sock.next())["data"]["code"] == "validation_error"
    await sock.send("ping")
    assert (await sock.next())["event"] == "pong"


async def test_logout_closes_that_sessions_sockets_only(live, db, sockets, settings):
    settings.otp_resend_cooldown_s = 0
    user = await login(live.http, live.outbox)
    other_session = await login(live.http, live.outbox, user.phone)
    ending, staying = await connect(live, user), await connect(live, other_session)
    sockets.append(staying)
    assert (await live.http.post("/api/v1/auth/logout", headers=user.headers)).status_code == 200
    assert (await ending.next()) == {
        "event": "session_ended",
        "data": {"reason": "logout", "message": "This session has ended; log in again"},
    }
    assert await closed_with(ending) == 4401
    await staying.send("ping")
    assert (await staying.next())["event"] == "pong"


async def test_a_ban_closes_every_socket_of_the_user(live, db, sockets):
    user = await login(live.http, live.outbox)
    first, second = await connect(live, user), await connect(live, user)
    await live.app.state.resources.get(EventBus).session_ended(user.id, None)
    assert await closed_with(first) == 4401 and await closed_with(second) == 4401


async def test_internal_events_are_never_forwarded(live, db, sockets):
    user = await login(live.http, live.outbox)
    sock = await connect(live, user)
    sockets.append(sock)
    await live.app.state.resources.get(EventBus).to_users([user.id], "_something_internal", {"secret": 1})
    await live.app.state.resources.get(EventBus).to_users([user.id], "match_removed", {"match_id": "m-1"})
    frame = await sock.next()
    assert frame == {"event": "match_removed", "data": {"match_id": "m-1"}}


async def test_events_from_a_blocked_user_are_not_delivered(live, db, sockets):
    a, b, match_id = await pair(live, live.outbox, db)
    sa, sb = await connect(live, a), await connect(live, b)
    sockets.extend([sa, sb])
    await sa.send("typing_start", {"match_id": str(match_id)})
    assert (await sb.next("user_typing"))["data"]["is_typing"] is True
    await db.execute("INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)", b.id, a.id)
    await live.app.state.resources.get(EventBus).pair_blocked(b.id, a.id)
    await live.app.state.resources.get(EventBus).to_users(
        [b.id], "new_match", {"match_id": "x", "user": {"id": str(a.id)}}
    )
    await live.app.state.resources.get(EventBus).to_users(
        [b.id], "user_typing", {"match_id": str(match_id), "user_id": str(a.id), "is_typing": True}
    )
    await live.app.state.resources.get(EventBus).to_users([b.id], "match_removed", {"match_id": str(match_id)})
    assert (await sb.next())["event"] == "match_removed"
    assert not [f for f in sb.seen if f["event"] == "new_match"]
    await sa.send("typing_start", {"match_id": str(match_id)})
    assert (await sa.next("error"))["data"]["code"] == "match_inactive"  # a block reads as an ended match


async def test_match_removed_makes_the_replica_reread_blocks(live, db, sockets):
    a, b, match_id = await pair(live, live.outbox, db)
    sb = await connect(live, b)
    sockets.append(sb)
    await db.execute("INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)", a.id, b.id)
    await live.app.state.resources.get(EventBus).to_users([b.id], "match_removed", {"match_id": str(match_id)})
    assert (await sb.next())["event"] == "match_removed"
    await live.app.state.resources.get(EventBus).to_users(
        [b.id], "new_match", {"match_id": "y", "user": {"id": str(a.id)}}
    )
    await live.app.state.resources.get(EventBus).to_users(
        [b.id], "new_match", {"match_id": "z", "user": {"id": "someone-else"}}
    )
    assert (await sb.next())["data"]["match_id"] == "z"


async def test_an_idle_socket_is_closed(live, db, sockets):
    live.app.state.resources.get(Realtime).hub.idle_timeout_s = 0.3
    user = await login(live.http, live.outbox)
    sock = await connect(live, user)
    assert await closed_with(sock) == 4408
