"""What keeps a socket honest after it authenticated: its session is re-read, and sockets are
counted against per-user and per-address caps that hold across gateway replicas.

Session re-checks. `_session_ended` (pub/sub) closes a revoked session's sockets within a
moment, but pub/sub may lose a message, so PostgreSQL (the truth) is also read:
- before every acting frame (send_message, mark_read, typing_*), through a per-replica reading
  per session trusted for WS_SESSION_CACHE_S, so the chat hot path costs a query per session
  every few seconds at most rather than one per frame;
- for every socket of the replica every WS_SESSION_RECHECK_S (<= 60 s), one query per
  thousand sessions, so an idle socket of a revoked, banned or expired session ends too.
A missed event therefore costs at most WS_SESSION_CACHE_S for an active socket and
WS_SESSION_RECHECK_S for an idle one. A database error lets the socket be (a PostgreSQL blip
must not drop every socket); the next reading decides.

Socket caps. Each socket holds a slot in a Redis sorted set per subject (`ws:slots:user:<id>`,
`ws:slots:addr:<address>`), scored by the time its lease runs out. The replica holding the
socket renews its leases every LEASE_S / 3 and removes them when the socket closes, so the count
is cluster-wide, and the slots of a replica that was killed expire within LEASE_S instead of
leaking. A per-replica count would let one user or address hold the cap on every replica (and a
load balancer spreading one client's connections multiplies it); a shared count cannot be
multiplied that way. If Redis is unreachable the caps let sockets through (realtime needs Redis
anyway, and a Redis outage must not become a lockout); Serve's per-replica limit still bounds them.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from deployments.auth.service import SessionReader

log = logging.getLogger("app.realtime.guard")
RECHECK_BATCH = 1000  # sessions per query of the periodic re-check
LEASE_S = 45.0  # a socket slot outlives a killed replica by at most this long


class SessionGuard:
    """Re-reads the sessions of this replica's sockets (see the module docstring)."""

    def __init__(self, hub: Any, sessionmaker: Any, max_age_s: int, cache_s: float, recheck_s: float) -> None:
        self.hub, self.sessionmaker = hub, sessionmaker
        self.max_age_s, self.cache_s, self.recheck_s = max_age_s, cache_s, recheck_s
        self.trusted_until: dict[str, float] = {}  # session id -> monotonic time its last good reading expires
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="realtime-session-recheck")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def forget(self, session_keys: Iterable[str]) -> None:
        """A revocation was announced: the next frame of these sessions reads PostgreSQL."""
        for key in session_keys:
            self.trusted_until.pop(key, None)

    async def check(self, conn: Any) -> str | None:
        """Why the socket's session has ended (see `end_reason`), or None; cheap while trusted."""
        now = time.monotonic()
        if self.trusted_until.get(conn.session_key, 0.0) > now:
            return None
        try:
            async with self.sessionmaker() as session:
                reason, _ = await SessionReader(session, self.max_age_s).check(conn.session_id, conn.user_id)
        except Exception as exc:
            log.warning("could not re-check session %s: %s", conn.session_key, exc)
            return None
        if reason is None:
            self.trusted_until[conn.session_key] = now + self.cache_s
        else:
            self.trusted_until.pop(conn.session_key, None)
        return reason

    async def recheck_all(self) -> int:
        """One pass over every socket of the replica; ends those whose session ended. Returns how many."""
        sessions: dict[uuid.UUID, uuid.UUID] = {}
        for conns in list(self.hub.by_user.values()):
            for conn in conns:
                sessions[conn.session_id] = conn.user_id
        ids = list(sessions)
        ended: dict[str, str] = {}
        for start in range(0, len(ids), RECHECK_BATCH):
            batch = {s: sessions[s] for s in ids[start : start + RECHECK_BATCH]}
            async with self.sessionmaker() as session:
                ended.update(await SessionReader(session, self.max_age_s).ended(batch))
        now = time.monotonic()
        # Forget readings of sessions that left this replica; refresh the ones just read.
        self.trusted_until = {str(s): now + self.cache_s for s in ids if str(s) not in ended}
        return self.hub.end_sessions(ended)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_s)
            try:
                closed = await self.recheck_all()
                if closed:
                    log.info("periodic re-check ended %d socket(s) of ended sessions", closed)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # try again next period
                log.warning("periodic session re-check failed: %s", exc)


# KEYS[1]: a subject's slots. ARGV: now (ms), lease (ms), cap, member. 1 if the slot was taken.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


def user_slots(user_id: uuid.UUID | str) -> str:
    return f"ws:slots:user:{user_id}"


def address_slots(address: str) -> str:
    return f"ws:slots:addr:{address}"


class SocketSlots:
    """Cluster-wide socket counts per subject, with leases (see the module docstring)."""

    def __init__(self, redis: aioredis.Redis, lease_s: float = LEASE_S) -> None:
        self.redis = redis
        self.lease_ms = int(lease_s * 1000)
        self.held: set[tuple[str, str]] = set()  # (key, member) this replica renews
        self._acquire = redis.register_script(_ACQUIRE)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._renew_loop(), name="realtime-socket-slots")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def acquire(self, key: str, member: str, cap: int) -> bool:
        """Take a slot under `key` unless `cap` are held; True also when Redis cannot answer."""
        try:
            taken = int(await self._acquire(keys=[key], args=[_now_ms(), self.lease_ms, cap, member]))
        except (RedisError, OSError) as exc:
            log.warning("socket cap unavailable, letting the socket in: %s", exc)
            taken = 1
        if taken:
            self.held.add((key, member))
        return bool(taken)

    async def release(self, key: str, member: str) -> None:
        self.held.discard((key, member))
        try:
            await self.redis.zrem(key, member)
        except (RedisError, OSError) as exc:  # the lease runs out instead
            log.warning("could not release a socket slot: %s", exc)

    async def renew(self) -> None:
        """Extend every lease this replica holds, in one pipeline. XX: a slot released meanwhile
        is not brought back (it would count against the cap until its lease ran out)."""
        held = list(self.held)
        if not held:
            return
        score = _now_ms() + self.lease_ms
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, member in held:
                pipe.zadd(key, {member: score}, xx=True)
                pipe.pexpire(key, self.lease_ms)
            await pipe.execute()

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                await self.renew()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("could not renew socket slots: %s", exc)


def _now_ms() -> int:
    return int(time.time() * 1000)
