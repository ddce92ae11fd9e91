"""Redis client and rate limits. Redis only holds what may be lost."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from kit.errors import RateLimited, ServiceUnavailable


def make_redis(url: str) -> aioredis.Redis:
    return aioredis.from_url(
        url, decode_responses=True, health_check_interval=30, socket_connect_timeout=2, socket_timeout=2
    )


# Count and (on the first hit) set the window's expiry in one command: this runs on every
# authenticated request and every chat message, so it is one round trip with no MULTI/EXEC.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


# Take up to ARGV[2] tokens of the window's ARGV[1] at once (a lease spent locally by `take`).
_LEASE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = math.min(tonumber(ARGV[2]), tonumber(ARGV[1]) - used)
if grant <= 0 then return 0 end
redis.call('INCRBY', KEYS[1], grant)
if used == 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return grant
"""
# Count one event in every window, or in none when one is spent (returns its 1-based index):
# a request refused by one budget must not use up the others.
_HIT_ALL = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then return i end
end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 0
"""


@dataclass(frozen=True)
class Budget:
    """One counter of `RateLimiter.hit_all` and the 429 it answers when spent."""

    name: str
    subject: str
    limit: int
    message: str
    code: str = "rate_limited"


MAX_LEASES = 50_000  # (name, subject) pairs remembered per process before old windows are dropped


class RateLimiter:
    """Fixed-window counters. `fail_closed` limits answer 503 when Redis is down
    (OTP abuse costs money); the others let the request through."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "rl") -> None:
        self.redis = redis
        self.prefix = prefix
        self._hit = redis.register_script(_HIT)
        self._lease = redis.register_script(_LEASE)
        self._hit_all = redis.register_script(_HIT_ALL)
        self._leases: dict[tuple[str, str], tuple[int, int]] = {}  # (name, subject) -> (window, tokens left)

    def _key(self, name: str, subject: str, window_s: int, window: int | None = None) -> str:
        """The counter of the current fixed window (or of `window`, a window number)."""
        bucket = int(time.time()) // window_s if window is None else window
        return f"{self.prefix}:{name}:{subject}:{bucket}"

    async def hit(
        self,
        name: str,
        subject: str,
        limit: int,
        window_s: int,
        *,
        fail_closed: bool = False,
        message: str = "Too many requests",
        code: str = "rate_limited",
    ) -> int:
        """Count one event; raise 429 once the window holds more than `limit`."""
        key = self._key(name, subject, window_s)
        try:
            count = int(await self._hit(keys=[key], args=[window_s + 1]))
        except RedisError as exc:
            if fail_closed:
                raise ServiceUnavailable("Rate limiting is unavailable; try again shortly") from exc
            return 0
        if count > limit:
            raise RateLimited(message, self._retry_after(window_s), code=code)
        return count

    async def hit_all(self, budgets: Sequence[Budget], window_s: int) -> None:
        """Count one event against every budget at once, or against none and raise the first
        spent budget's 429. Fails closed: these guard money (SMS) and logins."""
        keys = [self._key(b.name, b.subject, window_s) for b in budgets]
        try:
            spent = int(await self._hit_all(keys=keys, args=[window_s + 1, *(b.limit for b in budgets)]))
        except RedisError as exc:
            raise ServiceUnavailable("Rate limiting is unavailable; try again shortly") from exc
        if spent:
            budget = budgets[spent - 1]
            raise RateLimited(budget.message, self._retry_after(window_s), code=budget.code)

    async def take(
        self,
        name: str,
        subject: str,
        limit: int,
        window_s: int,
        *,
        message: str = "Too many requests",
        code: str = "rate_limited",
    ) -> None:
        """Like `hit` (fails open), for a per-event hot path: tokens come from Redis a lease at
        a time (a tenth of the limit, at most 10) and are spent in this process, so a chat
        message costs a Redis round trip only every few messages. The window's total still
        never exceeds `limit`; a user active on several replicas at once may be refused up to
        (lease - 1) tokens early per other replica."""
        window = int(time.time()) // window_s
        leased = self._leases.get((name, subject))
        if leased is not None and leased[0] == window and leased[1] > 0:
            self._leases[(name, subject)] = (window, leased[1] - 1)
            return
        lease = max(1, min(10, limit // 10))
        try:
            granted = int(
                await self._lease(keys=[self._key(name, subject, window_s, window)], args=[limit, lease, window_s + 1])
            )
        except RedisError:
            return
        if granted <= 0:
            raise RateLimited(message, self._retry_after(window_s), code=code)
        if len(self._leases) >= MAX_LEASES:
            self._forget_leases(window)
        self._leases[(name, subject)] = (window, granted - 1)

    def _forget_leases(self, window: int) -> None:
        """Drop spent and past leases; if that frees too little, drop them all (their tokens are
        counted in Redis already: a subject loses at most one lease), so this scan stays rare."""
        kept = {k: v for k, v in self._leases.items() if v[0] == window and v[1] > 0}
        self._leases = kept if len(kept) < MAX_LEASES // 2 else {}

    async def peek(self, name: str, subject: str, window_s: int, *, fail_closed: bool = False) -> int:
        try:
            value = await self.redis.get(self._key(name, subject, window_s))
        except RedisError as exc:
            if fail_closed:
                raise ServiceUnavailable("Rate limiting is unavailable; try again shortly") from exc
            return 0
        return int(value or 0)

    async def cooldown(self, name: str, subject: str, seconds: int, *, message: str) -> None:
        """Allow one event per `seconds` (fails closed)."""
        if seconds <= 0:
            return
        key = f"{self.prefix}:cd:{name}:{subject}"
        try:
            fresh = await self.redis.set(key, "1", nx=True, ex=seconds)
            if fresh:
                return
            ttl = await self.redis.ttl(key)
        except RedisError as exc:
            raise ServiceUnavailable("Rate limiting is unavailable; try again shortly") from exc
        raise RateLimited(message, ttl if ttl and ttl > 0 else seconds, code="otp_cooldown")

    @staticmethod
    def _retry_after(window_s: int) -> int:
        return window_s - int(time.time()) % window_s
