"""The per-replica connection registry and its Redis subscription.

Each gateway replica keeps the sockets connected to it, grouped by user, and subscribes (on
one dedicated Redis connection) to `ev:user:<id>` for exactly the users it holds. Whatever
any replica publishes with `EventBus.to_users` reaches every socket of that user here.

Every socket has a bounded outbound queue and one writer task, so a slow client never holds
up delivery to the others; a client that falls too far behind is closed and catches up
over HTTP (`after=`) when it reconnects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from fastapi import WebSocket
from redis.exceptions import RedisError

from deployments.realtime.bus import Envelope, channel_user, decode_event, user_channel

log = logging.getLogger("app.realtime.hub")
OUTBOX_LIMIT = 1000  # frames queued for one socket before it is dropped as too slow
CLOSE = object()  # outbox sentinel: close after what is queued
SUBSCRIBE_CONFIRM_S = 2.0
SESSION_ENDED = "This session has ended; log in again"


@dataclass(eq=False)
class Connection:
    websocket: WebSocket
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: float  # access-token expiry (epoch seconds)
    blocked: set[str] = field(default_factory=set)
    allowed: dict[uuid.UUID, tuple[uuid.UUID, float]] = field(default_factory=dict)  # match -> (other, until)
    typing: set[uuid.UUID] = field(default_factory=set)
    outbox: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(OUTBOX_LIMIT))
    writer: asyncio.Task | None = None
    closing: bool = False
    session_ends_at: float = float("inf")  # the session's hard end, SESSION_MAX_AGE_S (epoch seconds)
    session_key: str = field(init=False)  # str(session_id), compared for every event

    def __post_init__(self) -> None:
        self.session_key = str(self.session_id)

    def send(self, event: str, data: dict) -> None:
        self.push(json.dumps({"event": event, "data": data}, separators=(",", ":"), default=str))

    def push(self, frame: str) -> None:
        if self.closing:
            return
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            log.info("closing a socket of %s: %d frames behind", self.user_id, OUTBOX_LIMIT)
            self.close(1013, "too slow; reconnect and catch up")

    def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        try:
            self.outbox.put_nowait((CLOSE, code, reason))
        except asyncio.QueueFull:  # make room: the close matters more than stale frames
            self.outbox.get_nowait()
            self.outbox.put_nowait((CLOSE, code, reason))

    def end_session(self, reason: str) -> None:
        """The session ended (logout, refresh reuse, ban, expiry): drop what is still queued
        (nothing more reaches a revoked session), say why, close 4401. The `error` frame is kept
        for clients written before the `session_ended` event existed."""
        if self.closing:
            return
        while not self.outbox.empty():
            self.outbox.get_nowait()
        self.send("session_ended", {"reason": reason, "message": SESSION_ENDED})
        self.send("error", {"code": "session_ended", "reason": reason, "message": SESSION_ENDED})
        self.close(4401, "session ended")

    def start(self) -> None:
        """Begin writing the outbox (authentication is complete)."""
        self.writer = asyncio.create_task(self._write_loop())

    async def _write_loop(self) -> None:
        try:
            while True:
                item = await self.outbox.get()
                if isinstance(item, tuple) and item[0] is CLOSE:
                    await self.websocket.close(item[1], item[2])
                    return
                await self.websocket.send_text(item)
        except Exception:  # the client went away; the reader notices and unregisters
            self.closing = True


class Hub:
    def __init__(self, redis_url: str, blocks_loader: Any = None, auth_timeout_s: float = 3.0) -> None:
        # Its own client: the shared one has a 2 s socket timeout, wrong for a blocking subscriber.
        self.redis = aioredis.from_url(
            redis_url, decode_responses=True, socket_connect_timeout=2, health_check_interval=30
        )
        self.pubsub = self.redis.pubsub()
        self.by_user: dict[str, set[Connection]] = {}
        self.blocks_loader = (
            blocks_loader  # async (user_id) -> set[str]: who the user blocked or was blocked by (chat sets it)
        )
        self.auth_timeout_s = auth_timeout_s
        self.guard: Any = None  # the SessionGuard, told when a revocation is announced
        self.idle_timeout_s = 90.0
        self.replica_id = uuid.uuid4().hex[:8]
        self._confirm: dict[str, asyncio.Future] = {}
        self.confirmed: set[str] = set()  # users whose channel Redis confirmed (and has not dropped since)
        self._held: dict[str, list[str]] = {}  # user -> events waiting for a block-set reload
        self._reader: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        # A replica channel keeps the subscriber connection open even with no users yet.
        # Redis being down must not stop the replica from starting (health says so instead).
        try:
            await self.pubsub.subscribe(f"ev:replica:{self.replica_id}")
        except (RedisError, OSError) as exc:
            log.warning("event subscription unavailable at start-up, retrying: %s", exc)
            self._tasks.add(asyncio.create_task(self._subscribe_later(), name="realtime-hub-subscribe"))
        self._reader = asyncio.create_task(self._read_loop(), name="realtime-hub-reader")

    async def _subscribe_later(self) -> None:
        backoff = 0.5
        while True:
            await asyncio.sleep(backoff)
            try:
                await self.pubsub.subscribe(f"ev:replica:{self.replica_id}")
                return
            except (RedisError, OSError):
                backoff = min(backoff * 2, 10.0)

    async def stop(self) -> None:
        for conns in list(self.by_user.values()):
            for conn in list(conns):
                conn.close(1012, "server restarting")
        writers = [c.writer for conns in self.by_user.values() for c in conns if c.writer]
        if writers:
            await asyncio.wait(writers, timeout=2)
        if self._reader:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        try:
            await self.pubsub.aclose()
            await self.redis.aclose()
        except (RedisError, OSError):
            pass

    async def add(self, conn: Connection) -> None:
        """Register and subscribe; frames queue in the outbox until `conn.start()`."""
        key = str(conn.user_id)
        conns = self.by_user.setdefault(key, set())
        conns.add(conn)
        if len(conns) == 1:
            await self._subscribe(user_channel(key))

    async def remove(self, conn: Connection) -> None:
        key = str(conn.user_id)
        conns = self.by_user.get(key)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self.by_user[key]
                self.confirmed.discard(key)
                try:
                    await self.pubsub.unsubscribe(user_channel(key))
                except (RedisError, OSError) as exc:
                    log.warning("unsubscribe failed: %s", exc)
        conn.close(1000, "bye")
        if conn.writer is not None:
            await asyncio.wait([conn.writer], timeout=1)
            conn.writer.cancel()

    async def _subscribe(self, channel: str) -> None:
        """Subscribe and wait for Redis to confirm, so nothing published after we answer is missed."""
        waiter = asyncio.get_running_loop().create_future()
        self._confirm[channel] = waiter
        try:
            await self.pubsub.subscribe(channel)
            await asyncio.wait_for(asyncio.shield(waiter), SUBSCRIBE_CONFIRM_S)
        except (TimeoutError, RedisError, OSError) as exc:
            log.warning("subscription to %s not confirmed: %s", channel, exc)
        finally:
            self._confirm.pop(channel, None)

    async def _read_loop(self) -> None:
        backoff = 0.1
        while True:
            try:
                message = await self.pubsub.get_message(timeout=1.0)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: retry; redis-py resubscribes on reconnect
                log.warning("event subscription interrupted: %s", exc)
                self.confirmed.clear()  # until Redis confirms the resubscriptions, publishers must publish
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if message is None:
                continue
            if message["type"] == "subscribe":
                channel = message["channel"]
                user_id = channel_user(channel)
                if user_id in self.by_user:
                    self.confirmed.add(user_id)
                waiter = self._confirm.get(channel)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
            elif message["type"] == "message":
                try:
                    self.dispatch(message["channel"], message["data"])
                except Exception:  # one bad event must not stop delivery
                    log.exception("could not dispatch an event on %s", message["channel"])

    def dispatch(self, channel: str, payload: str) -> None:
        """An event from Redis."""
        envelope = decode_event(payload)
        if envelope is None:
            log.warning("ignoring a malformed event on %s", channel)
            return
        user_id = channel_user(channel)
        if user_id is None or envelope.origin == self.replica_id:  # the origin delivered it when publishing
            return
        self.route(user_id, payload, envelope)

    def deliver_local(self, user_id: str, payload: str) -> int:
        """An event published on this replica (see `deployments.realtime.bus.LocalSink`)."""
        if user_id not in self.by_user:
            return 0
        self.route(user_id, payload)
        return 1 if user_id in self.confirmed else 0

    def route(self, user_id: str, payload: str, envelope: Envelope | None = None) -> None:
        conns = self.by_user.get(user_id)
        if not conns:
            return
        held = self._held.get(user_id)
        if held is not None:  # keep order: nothing overtakes a pending block-set reload
            held.append(payload)
            return
        envelope = envelope or decode_event(payload)
        if envelope is None:
            return
        if envelope.event.startswith("_"):
            self._internal(user_id, conns, envelope.event, envelope.data())
            return
        other, excluded = envelope.counterpart, envelope.exclude_session
        for conn in list(conns):
            if other and other in conn.blocked:
                continue
            if excluded and conn.session_key == excluded:
                continue
            conn.push(envelope.frame)
        if envelope.event == "match_removed":
            self._match_removed(user_id, conns, envelope.data())

    def _internal(self, user_id: str, conns: set[Connection], event: str, data: dict) -> None:
        """Events for the replicas, never forwarded to clients."""
        if event == "_session_ended":
            session = data.get("session_id")
            # No session named: every session of the user (a ban).
            reason = str(data.get("reason") or ("revoked" if session else "banned"))
            ended = [conn for conn in conns if session is None or conn.session_key == session]
            if self.guard is not None:
                self.guard.forget({conn.session_key for conn in ended} | ({session} if session else set()))
            for conn in ended:
                conn.end_session(reason)
        elif event == "_blocked":
            other = str(data.get("user_id"))
            for conn in conns:
                conn.blocked.add(other)
                for match_id, (peer, _) in list(conn.allowed.items()):
                    if str(peer) == other:
                        conn.allowed.pop(match_id, None)

    def _match_removed(self, user_id: str, conns: set[Connection], data: dict) -> None:
        """A match ended (unmatch or block): forget cached authorisation and re-read blocks."""
        try:
            match_id = uuid.UUID(str(data.get("match_id")))
        except ValueError:
            match_id = None
        for conn in conns:
            if match_id is not None:
                conn.allowed.pop(match_id, None)
        if self.blocks_loader is not None and user_id not in self._held:
            # The match may have ended by a block: later events wait until the block set is fresh.
            self._held[user_id] = []
            self.spawn(self._refresh_blocks(user_id))

    async def blocked_of(self, user_id: str) -> set[str]:
        """The users whose events must not reach this user's sockets (none without a loader)."""
        return set(await self.blocks_loader(user_id)) if self.blocks_loader is not None else set()

    async def _refresh_blocks(self, user_id: str) -> None:
        try:
            blocked = await self.blocks_loader(user_id)
            for conn in self.by_user.get(user_id, ()):
                conn.blocked = set(blocked)
        except Exception as exc:  # keep the old set; the send path checks blocks in PostgreSQL anyway
            log.warning("could not reload blocks of %s: %s", user_id, exc)
        finally:
            for payload in self._held.pop(user_id, []):
                self.route(user_id, payload)

    def end_sessions(self, reasons: dict[str, str]) -> int:
        """End this replica's sockets of the sessions named (session id -> reason); how many."""
        ended = 0
        for conns in list(self.by_user.values()):
            for conn in list(conns):
                reason = reasons.get(conn.session_key)
                if reason is not None and not conn.closing:
                    conn.end_session(reason)
                    ended += 1
        return ended

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def token_deadline(self, conn: Connection) -> float:
        return max(0.0, conn.expires_at - time.time())
