"""/ws: the realtime socket. Protocol (frames, events, close codes): docs/websocket.md.

The socket authenticates, keeps its session honest (`guard`), answers `ping`, and hands every
other client event to the handler a domain registered for it (`Realtime.handlers`: chat
registers send_message, typing_start/typing_stop and mark_read), so realtime knows no domain
and a second transport can dispatch to the same handlers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, WebSocket
from pydantic import ValidationError

from deployments.auth.dependencies import REFUSALS
from deployments.auth.service import SessionReader
from deployments.realtime.guard import address_slots, user_slots
from deployments.realtime.hub import Connection
from deployments.realtime.lifecycle import Realtime, RealtimeParts
from kit.addresses import address_key
from kit.deps import AppResources
from kit.errors import AppError, RateLimited, as_input_error
from kit.resources import Resources
from kit.security import TokenError, decode_token

router = APIRouter(tags=["realtime"])
log = logging.getLogger("app.realtime.socket")

MAX_FRAME_BYTES = 64 * 1024
FRAMES_PER_WINDOW, FRAME_WINDOW_S = 120, 10.0  # per socket, on top of the per-user message limit
UNAUTHORIZED, IDLE, TOO_MANY = 4401, 4408, 4429


def parse_frame(message: Mapping[str, Any]) -> tuple[str, dict] | dict:
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


async def _first_token(websocket: WebSocket, timeout_s: float) -> str | None:
    """The token of the first frame, which must be `authenticate` {token}; refuses the socket otherwise."""
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout_s)
    except TimeoutError:
        await _refuse(websocket, "auth_timeout", f"Authenticate within {timeout_s:g} seconds of connecting")
        return None
    if message["type"] == "websocket.disconnect":
        return None
    parsed = parse_frame(message)
    token = parsed[1].get("token") if isinstance(parsed, tuple) and parsed[0] == "authenticate" else None
    if not isinstance(token, str) or not token:
        await _refuse(
            websocket,
            "missing_token",
            'The first frame must be {"event": "authenticate", "data": {"token": "<access token>"}}',
        )
        return None
    return token


async def _authenticate(websocket: WebSocket, resources: Resources, realtime: Realtime, slot: str) -> Connection | None:
    """The first frame must be `authenticate` {token} within the timeout; tokens never come from the URL.
    The socket then takes a slot of the user's cap under the name `slot` (the caller releases it
    when the socket ends; this function does when it refuses the socket after taking it)."""
    hub, slots, settings = realtime.hub, realtime.slots, resources.settings
    token = await _first_token(websocket, hub.auth_timeout_s)
    if token is None:
        return None
    try:
        claims = decode_token(settings, token, "access")
    except TokenError as exc:
        await _refuse(websocket, "invalid_token", str(exc))
        return None
    if not await slots.acquire(user_slots(claims.user_id), slot, settings.ws_max_sockets_per_user):
        await _refuse(
            websocket,
            "too_many_sockets",
            "Too many open sockets for this account; close one or retry later",
            close_code=TOO_MANY,
        )
        return None
    conn = Connection(websocket, claims.user_id, claims.session_id, float(claims.expires_at))
    conn.send("authenticated", {"user_id": str(claims.user_id)})  # first in the outbox, before any event
    # Subscribe before checking the session, so a logout racing with this connect still closes it.
    await hub.add(conn)
    try:
        problem = await _check_caller(resources, realtime, conn)
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


async def _check_caller(resources: Resources, realtime: Realtime, conn: Connection) -> tuple[str, str] | None:
    async with resources.sessionmaker() as session:
        ended, deadline = await SessionReader(session, resources.settings.session_max_age_s).check(
            conn.session_id, conn.user_id
        )
    if ended is not None or deadline is None:
        message, code = REFUSALS.get(ended or "revoked", REFUSALS["revoked"])
        return code, message
    conn.session_ends_at = deadline.timestamp()
    conn.blocked = await realtime.hub.blocked_of(str(conn.user_id))
    return None


@router.websocket("/ws")
async def realtime_socket(websocket: WebSocket, resources: AppResources, realtime: RealtimeParts) -> None:
    """Realtime events (new_match, new_message, message_read, user_typing, ...): see docs/websocket.md."""
    slots = realtime.slots
    await websocket.accept()
    slot = uuid.uuid4().hex  # this socket's name in the per-address and per-user counts
    address = address_slots(address_key(websocket.client.host if websocket.client else "unknown"))
    if not await slots.acquire(address, slot, resources.settings.ws_max_sockets_per_address):
        await _refuse(
            websocket, "too_many_sockets", "Too many open sockets from this network; retry later", close_code=TOO_MANY
        )
        return
    conn = None
    try:
        conn = await _authenticate(websocket, resources, realtime, slot)
        if conn is not None:
            for on_open in realtime.on_open:
                on_open(conn, resources)
            await _serve(conn, resources, realtime)
    finally:
        if conn is not None:
            for on_close in realtime.on_close:
                on_close(conn, resources)
            await realtime.hub.remove(conn)
            await slots.release(user_slots(conn.user_id), slot)
        await slots.release(address, slot)


async def _serve(conn: Connection, resources: Resources, realtime: Realtime) -> None:
    hub = realtime.hub
    window_start, frames = time.monotonic(), 0
    while not conn.closing:
        timeout = min(hub.idle_timeout_s, hub.token_deadline(conn), _session_left(conn))
        try:
            async with asyncio.timeout(timeout):  # unlike wait_for, no extra task per frame
                message = await conn.websocket.receive()
        except TimeoutError:
            _expire(conn, hub.token_deadline(conn))
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
        await _dispatch(conn, resources, realtime, *parsed)


def _session_left(conn: Connection) -> float:
    return max(0.0, conn.session_ends_at - time.time())


def _expire(conn: Connection, token_left: float) -> None:
    if _session_left(conn) <= 0:
        conn.end_session("expired")
    elif token_left <= 0:
        conn.send("error", {"code": "token_expired", "message": "Access token expired; reconnect with a new one"})
        conn.close(UNAUTHORIZED, "token expired")
    else:
        conn.close(IDLE, "idle: send ping at least every 30 s")


async def _dispatch(conn: Connection, resources: Resources, realtime: Realtime, event: str, data: dict) -> None:
    if event == "ping":
        conn.send("pong", {"ts": time.time()})
        return
    handler = realtime.handlers.get(event)
    if handler is None:
        conn.send("error", {"code": "unknown_event", "message": f"Unknown event {event[:40]!r}", "event": event[:40]})
        return
    # Every acting frame re-checks the session (a missed `_session_ended` must not let it act).
    ended = await realtime.hub.guard.check(conn)
    if ended is not None:
        realtime.hub.end_sessions({conn.session_key: ended})
        return
    try:
        await handler(conn, resources, data)
    except Exception as exc:  # never let one frame take the socket down
        conn.send("error", _error_frame(exc, event, data))


def _error_frame(exc: Exception, event: str, data: dict) -> dict:
    """The `error` a failed handler answers with: its AppError, a validation summary, or a 500 alike."""
    if isinstance(exc, RateLimited):
        return {"code": exc.code, "message": exc.message, "event": event, "retry_after": exc.retry_after, **_ref(data)}
    if isinstance(exc, AppError):
        return {"code": exc.code, "message": exc.message, "event": event, **_ref(data)}
    if isinstance(exc, ValidationError):
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors()[:5])
        return {"code": "validation_error", "message": detail, "event": event, **_ref(data)}
    mapped = as_input_error(exc)
    if mapped is not None:
        return {"code": mapped.code, "message": mapped.message, "event": event, **_ref(data)}
    log.error("websocket event %s failed", event, exc_info=exc)
    return {"code": "internal_error", "message": "Something went wrong on our side", "event": event}


def _ref(data: dict) -> dict:
    """Echo the client's ids so it can tell which request an error answers."""
    return {k: data[k] for k in ("match_id", "client_message_id") if isinstance(data.get(k), str)}
