"""/ws: the realtime socket. Protocol (frames, events, close codes): docs/websocket.md."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from fastapi import APIRouter, FastAPI, WebSocket
from pydantic import BaseModel, ConfigDict, ValidationError

from deployments.auth.dependencies import REFUSALS
from deployments.auth.repository import AuthRepository
from deployments.auth.service import end_reason, session_deadline
from deployments.chat.guard import SocketSlots, address_slots, user_slots
from deployments.chat.hub import Connection, Hub
from deployments.chat.repository import ChatRepository
from deployments.chat.schemas import MarkReadRequest, SendMessageRequest
from deployments.chat.service import ChatService
from kit.addresses import address_key
from kit.errors import AppError, RateLimited, as_input_error
from kit.security import TokenError, decode_token

router = APIRouter(tags=["realtime"])
log = logging.getLogger("app.chat.ws")

MAX_FRAME_BYTES = 64 * 1024
FRAMES_PER_WINDOW, FRAME_WINDOW_S = 120, 10.0  # per socket, on top of the per-user message limit
ALLOW_TTL_S = 10.0                             # how long a socket trusts "participant of an active match"
UNAUTHORIZED, IDLE, TOO_MANY = 4401, 4408, 4429


class TypingEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    match_id: uuid.UUID


def parse_frame(message: dict) -> tuple[str, dict] | dict:
    """(event, data), or the `error` payload describing why the frame was refused."""
    text = message.get("text")
    if text is None:
        return {"code": "unsupported_frame", "message": "Send JSON text frames"}
    if len(text) > MAX_FRAME_BYTES // 4 and len(text.encode()) > MAX_FRAME_BYTES:
        return {"code": "frame_too_large", "message": f"Frames are limited to {MAX_FRAME_BYTES} bytes"}
    try:
        frame = json.loads(text)
    except ValueError:
        return {"code": "malformed_json", "message": "Frame is not valid JSON"}
    if not isinstance(frame, dict) or not isinstance(frame.get("event"), str):
        return {"code": "invalid_frame", "message": 'Frames look like {"event": "...", "data": {...}}'}
    data = frame.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return {"code": "invalid_frame", "message": "data must be an object"}
    return frame["event"], data


async def _refuse(websocket: WebSocket, code: str, message: str, close_code: int = UNAUTHORIZED) -> None:
    try:
        await websocket.send_text(json.dumps({"event": "error", "data": {"code": code, "message": message}}))
        await websocket.close(close_code, code)
    except Exception:  # already gone
        pass


async def _authenticate(websocket: WebSocket, app: FastAPI, hub: Hub, slot: str) -> Connection | None:
    """The first frame must be `authenticate` {token} within the timeout; tokens never come from the URL.
    The socket then takes a slot of the user's cap under the name `slot` (the caller releases it
    when the socket ends; this function does when it refuses the socket after taking it)."""
    slots: SocketSlots = app.state.socket_slots
    try:
        message = await asyncio.wait_for(websocket.receive(), hub.auth_timeout_s)
    except asyncio.TimeoutError:
        await _refuse(websocket, "auth_timeout", f"Authenticate within {hub.auth_timeout_s:g} seconds of connecting")
        return None
    if message["type"] == "websocket.disconnect":
        return None
    parsed = parse_frame(message)
    token = parsed[1].get("token") if isinstance(parsed, tuple) and parsed[0] == "authenticate" else None
    if not isinstance(token, str) or not token:
        await _refuse(websocket, "missing_token", 'The first frame must be {"event": "authenticate", '
                                                  '"data": {"token": "<access token>"}}')
        return None
    try:
        claims = decode_token(app.state.settings, token, "access")
    except TokenError as exc:
        await _refuse(websocket, "invalid_token", str(exc))
        return None
    if not await slots.acquire(user_slots(claims.user_id), slot, app.state.settings.ws_max_sockets_per_user):
        await _refuse(websocket, "too_many_sockets", "Too many open sockets for this account; close one or "
                                                     "retry later", close_code=TOO_MANY)
        return None
    conn = Connection(websocket, claims.user_id, claims.session_id, float(claims.expires_at))
    conn.send("authenticated", {"user_id": str(claims.user_id)})  # first in the outbox, before any event
    # Subscribe before checking the session, so a logout racing with this connect still closes it.
    await hub.add(conn)
    try:
        problem = await _check_caller(app, conn)
    except Exception:  # database trouble: refuse this attempt, keep the replica's registry clean
        log.exception("could not check a websocket session")
        problem = ("unavailable", "Try again shortly")
    if problem is not None:
        await hub.remove(conn)
        await slots.release(user_slots(conn.user_id), slot)
        await _refuse(websocket, *problem, close_code=1011 if problem[0] == "unavailable" else UNAUTHORIZED)
        return None
    conn.start()
    return conn


async def _check_caller(app: FastAPI, conn: Connection) -> tuple[str, str] | None:
    max_age_s = app.state.settings.session_max_age_s
    async with app.state.sessionmaker() as session:
        caller = await AuthRepository(session).load_caller(conn.session_id, conn.user_id)
        ended = end_reason(caller, max_age_s)
        if ended is not None:
            message, code = REFUSALS.get(ended, REFUSALS["revoked"])
            return code, message
        conn.session_ends_at = session_deadline(caller.session_created_at, max_age_s).timestamp()
        conn.blocked = {str(u) for u in await ChatRepository(session).blocked_ids(conn.user_id)}
    return None


@router.websocket("/ws")
async def realtime(websocket: WebSocket) -> None:
    """Realtime events (new_match, new_message, message_read, user_typing, ...): see docs/websocket.md."""
    app: FastAPI = websocket.app
    hub: Hub = app.state.chat_hub
    slots: SocketSlots = app.state.socket_slots
    await websocket.accept()
    slot = uuid.uuid4().hex  # this socket's name in the per-address and per-user counts
    address = address_slots(address_key(websocket.client.host if websocket.client else "unknown"))
    if not await slots.acquire(address, slot, app.state.settings.ws_max_sockets_per_address):
        await _refuse(websocket, "too_many_sockets", "Too many open sockets from this network; retry later",
                      close_code=TOO_MANY)
        return
    conn = None
    try:
        conn = await _authenticate(websocket, app, hub, slot)
        if conn is not None:
            await _serve(conn, app, hub)
    finally:
        if conn is not None:
            _leave(conn, app)
            await hub.remove(conn)
            await slots.release(user_slots(conn.user_id), slot)
        await slots.release(address, slot)


async def _serve(conn: Connection, app: FastAPI, hub: Hub) -> None:
    window_start, frames = time.monotonic(), 0
    while not conn.closing:
        timeout = min(hub.idle_timeout_s, hub.token_deadline(conn), _session_left(conn))
        try:
            async with asyncio.timeout(timeout):  # unlike wait_for, no extra task per frame
                message = await conn.websocket.receive()
        except TimeoutError:
            _expire(conn, hub)
            continue
        if message["type"] == "websocket.disconnect" or conn.closing:  # nothing is acted on after a close
            return
        now = time.monotonic()
        if now - window_start > FRAME_WINDOW_S:
            window_start, frames = now, 0
        frames += 1
        if frames > FRAMES_PER_WINDOW:
            conn.send("error", {"code": "rate_limited", "message": "Too many frames; slow down"})
            continue
        parsed = parse_frame(message)
        if isinstance(parsed, dict):
            conn.send("error", parsed)
            continue
        await _dispatch(conn, app, *parsed)


def _session_left(conn: Connection) -> float:
    return max(0.0, conn.session_ends_at - time.time())


def _expire(conn: Connection, hub: Hub) -> None:
    if _session_left(conn) <= 0:
        conn.end_session("expired")
    elif hub.token_deadline(conn) <= 0:
        conn.send("error", {"code": "token_expired", "message": "Access token expired; reconnect with a new one"})
        conn.close(UNAUTHORIZED, "token expired")
    else:
        conn.close(IDLE, "idle: send ping at least every 30 s")


async def _dispatch(conn: Connection, app: FastAPI, event: str, data: dict) -> None:
    if event == "ping":
        conn.send("pong", {"ts": time.time()})
        return
    handler = HANDLERS.get(event)
    if handler is None:
        conn.send("error", {"code": "unknown_event", "message": f"Unknown event {event[:40]!r}", "event": event[:40]})
        return
    # Every acting frame re-checks the session (a missed `_session_ended` must not let it act).
    ended = await app.state.chat_hub.guard.check(conn)
    if ended is not None:
        app.state.chat_hub.end_sessions({conn.session_key: ended})
        return
    try:
        await handler(conn, app, data)
    except RateLimited as exc:
        conn.send("error", {"code": exc.code, "message": exc.message, "event": event,
                            "retry_after": exc.retry_after, **_ref(data)})
    except AppError as exc:
        conn.send("error", {"code": exc.code, "message": exc.message, "event": event, **_ref(data)})
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors()[:5])
        conn.send("error", {"code": "validation_error", "message": detail, "event": event, **_ref(data)})
    except Exception as exc:  # never let one frame take the socket down
        mapped = as_input_error(exc)
        if mapped is not None:
            conn.send("error", {"code": mapped.code, "message": mapped.message, "event": event, **_ref(data)})
            return
        log.exception("websocket event %s failed", event)
        conn.send("error", {"code": "internal_error", "message": "Something went wrong on our side", "event": event})


def _ref(data: dict) -> dict:
    """Echo the client's ids so it can tell which request an error answers."""
    return {k: data[k] for k in ("match_id", "client_message_id") if isinstance(data.get(k), str)}


def _service(app: FastAPI, session: Any) -> ChatService:
    return ChatService(ChatRepository(session), app.state.settings, app.state.limiter)


async def _participant(conn: Connection, app: FastAPI, match_id: uuid.UUID) -> uuid.UUID:
    """The other participant, if the caller may act on the match (cached briefly per socket)."""
    cached = conn.allowed.get(match_id)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    async with app.state.sessionmaker() as session:
        access = await _service(app, session).authorize(conn.user_id, match_id)
    other = access.other(conn.user_id)
    _allow(conn, app, match_id, other)
    return other


def _allow(conn: Connection, app: FastAPI, match_id: uuid.UUID, other: uuid.UUID) -> None:
    if match_id not in conn.allowed:
        app.state.chat.shard_call(match_id, "present", str(match_id), str(conn.user_id), True)
    conn.allowed[match_id] = (other, time.monotonic() + ALLOW_TTL_S)


async def _typing(conn: Connection, app: FastAPI, data: dict, is_typing: bool) -> None:
    match_id = TypingEvent.model_validate(data).match_id
    other = await _participant(conn, app, match_id)
    (conn.typing.add if is_typing else conn.typing.discard)(match_id)
    await app.state.chat.typing(match_id, conn.user_id, other, is_typing)


async def _typing_start(conn: Connection, app: FastAPI, data: dict) -> None:
    await _typing(conn, app, data, True)


async def _typing_stop(conn: Connection, app: FastAPI, data: dict) -> None:
    await _typing(conn, app, data, False)


async def _send_message(conn: Connection, app: FastAPI, data: dict) -> None:
    body = SendMessageRequest.model_validate(data)
    # The send statement commits on its own (raw pool); a session opens only for a retry or a refusal.
    repo = ChatRepository.on_demand(app.state.sessionmaker, app.state.pg)
    try:
        sent = await ChatService(repo, app.state.settings, app.state.limiter).send(
            conn.user_id, body.match_id, body.content, body.message_type, body.client_message_id)
    finally:
        await repo.close()
    _allow(conn, app, body.match_id, sent.recipient_id)
    conn.typing.discard(body.match_id)
    conn.send("message_sent", {"client_message_id": body.client_message_id, "message": sent.payload})
    if sent.created:
        await app.state.chat.message_sent(sent, conn.session_id)


async def _mark_read(conn: Connection, app: FastAPI, data: dict) -> None:
    body = MarkReadRequest.model_validate(data)
    async with app.state.sessionmaker() as session:
        marked, sender_id = await _service(app, session).mark_read(conn.user_id, body.match_id, body.message_ids)
        await session.commit()
    conn.send("marked_read", {"match_id": str(body.match_id), "marked_count": len(marked),
                              "message_ids": [str(m) for m, _ in marked]})
    await app.state.chat.messages_read(body.match_id, conn.user_id, sender_id, marked, conn.session_id)


def _leave(conn: Connection, app: FastAPI) -> None:
    """A socket closed: stop its typing indicators and its presence in the match shards."""
    chat = app.state.chat
    for match_id, (other, _) in conn.allowed.items():
        if match_id in conn.typing:
            app.state.chat_hub.spawn(chat.typing(match_id, conn.user_id, other, False))
        chat.shard_call(match_id, "present", str(match_id), str(conn.user_id), False)


HANDLERS = {
    "typing_start": _typing_start,
    "typing_stop": _typing_stop,
    "send_message": _send_message,
    "mark_read": _mark_read,
}
