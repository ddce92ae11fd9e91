"""Leased rate limits (`RateLimiter.take`): exact for one process, never over the limit for several."""

from __future__ import annotations

import pytest
from redis.exceptions import RedisError

from kit.errors import RateLimited
from kit.redis import RateLimiter, make_redis

WINDOW_S = 3600  # long, so no test straddles a window boundary


@pytest.fixture
async def redis(settings):
    client = make_redis(settings.redis_url)
    yield client
    await client.aclose()


async def _taken(limiter: RateLimiter, attempts: int, limit: int) -> int:
    taken = 0
    for _ in range(attempts):
        try:
            await limiter.take("messages", "user-1", limit, WINDOW_S)
            taken += 1
        except RateLimited:
            pass
    return taken


async def test_one_process_gets_exactly_the_limit_with_few_redis_calls(redis):
    limiter = RateLimiter(redis)
    calls = []
    lease = limiter._lease

    async def counted(**kwargs):
        calls.append(kwargs)
        return await lease(**kwargs)

    limiter._lease = counted
    assert await _taken(limiter, 80, limit=60) == 60
    assert len(calls) == 10 + 20  # ten leases of 6 (a tenth), then one call per refused message
    with pytest.raises(RateLimited) as refused:
        await limiter.take("messages", "user-1", 60, WINDOW_S)
    assert 0 < refused.value.retry_after <= WINDOW_S


async def test_several_processes_together_never_exceed_the_limit(redis):
    replicas = [RateLimiter(redis), RateLimiter(redis), RateLimiter(redis)]
    taken = 0
    for _ in range(40):  # interleaved, as one user's devices on three replicas
        for limiter in replicas:
            taken += await _taken(limiter, 1, limit=60)
    assert 60 - 2 * 5 <= taken <= 60  # at most (lease - 1) left unspent on each other replica


async def test_a_small_limit_is_taken_one_token_at_a_time(redis):
    first, second = RateLimiter(redis), RateLimiter(redis)
    assert await _taken(first, 1, limit=3) == 1
    assert await _taken(second, 5, limit=3) == 2  # nothing was leased ahead by the first


async def test_the_limit_fails_open_when_redis_is_down(redis):
    limiter = RateLimiter(redis)

    async def down(**kwargs):
        raise RedisError("connection refused")

    limiter._lease = down
    assert await _taken(limiter, 3, limit=1) == 3


async def test_the_lease_table_stays_bounded_with_many_active_subjects(redis, monkeypatch):
    monkeypatch.setattr("kit.redis.MAX_LEASES", 8)
    limiter = RateLimiter(redis)
    for i in range(40):
        await limiter.take("messages", f"user-{i}", 60, WINDOW_S)
        assert len(limiter._leases) <= 8
    assert await _taken(limiter, 1, limit=60) == 1  # a subject whose lease was forgotten still sends
