"""Redis client and rate limits. Redis only holds what may be lost."""

from __future__ import annotations

import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from kit.errors import RateLimited, ServiceUnavailable


def make_redis(url: str) -> aioredis.Redis:
    return aioredis.from_url(url, decode_responses=True, health_check_interval=30,
                             socket_connect_timeout=2, socket_timeout=2)


# Count and (on the first hit) set the window's expiry in one command: this runs on every
# authenticated request and every chat message, so it is one round trip with no MULTI/EXEC.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


class RateLimiter:
    """Fixed-window counters. `fail_closed` limits answer 503 when Redis is down
    (OTP abuse costs money); the others let the request through."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "rl") -> None:
        self.redis = redis
        self.prefix = prefix
        self._hit = redis.register_script(_HIT)

    def _key(self, name: str, subject: str, window_s: int) -> str:
        bucket = int(time.time()) // window_s
        return f"{self.prefix}:{name}:{subject}:{bucket}"

    async def hit(self, name: str, subject: str, limit: int, window_s: int, *,
                  fail_closed: bool = False, message: str = "Too many requests",
                  code: str = "rate_limited") -> int:
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
