"""Feed at scale: GET /api/v1/matching/feed through the whole app (numpy FeedRanker index,
partitions fanned out) side by side with a naive baseline that answers the same request with
one SQL query (the seed's GIST index on `user_profiles.location`), on the same data in the
same run. Also: candidates scored per second on one core, and swipes per second with match
detection through the app.

The SQL baseline is run straight from asyncpg (no HTTP, no auth): a lower bound for any app
built on that query, so "faster than the baseline" is measured against its best case.

Usage:
  make bench BENCH_ARGS="feed [--users 100000] [--stack uvicorn|serve|both] [--duration 10] [--connections 16]
                        [--serve-loops config|separate]"
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
import uuid

import numpy as np

import bench.common as common
from bench.common import Table, http_json, infra, serve_app, uvicorn_app
from bench.generate import generate
from bench.loadgen import _read_response, _request_bytes, run_load

common.BENCH_DIR = common.ROOT / "var" / "bench-feed"  # infra() empties its directory: not another scenario's
JWT_SECRET = secrets.token_urlsafe(32)
EXTRA_ENV = {"JWT_SECRET": JWT_SECRET, "LOG_LEVEL": "WARNING"}

BASELINE_SQL = """
WITH me AS (SELECT p.*, (date_part('year', age(p.birth_date)))::int AS my_age,
                   ARRAY(SELECT interest_name FROM user_interests WHERE user_id = p.user_id) AS my_interests
              FROM user_profiles p WHERE p.user_id = $1)
SELECT c.user_id, c.first_name, date_part('year', age(c.birth_date))::int AS age, c.bio,
       greatest(1, round(d.km))::int AS distance_km,
       ARRAY(SELECT url.photo_url FROM profile_photos url WHERE url.user_id = c.user_id
              ORDER BY url.is_primary DESC, url.order_index) AS photos,
       ARRAY(SELECT i.interest_name FROM user_interests i WHERE i.user_id = c.user_id) AS interests,
       0.30 * greatest(0, 1 - d.km / me.max_distance)
     + 0.25 * least(5, (SELECT count(*) FROM user_interests i
                          WHERE i.user_id = c.user_id AND i.interest_name = ANY(me.my_interests))) / 5.0
     + 0.20 * power(0.5, extract(epoch FROM now() - coalesce(cu.last_active_at, now() - interval '1 year'))
                         / 3600 / 48)
     + 0.10 * (EXISTS (SELECT 1 FROM profile_photos ph WHERE ph.user_id = c.user_id))::int
     + 0.15 * (EXISTS (SELECT 1 FROM swipes l WHERE l.swiper_id = c.user_id AND l.swiped_id = me.user_id
                         AND l.action = 'like'))::int AS score
  FROM me, user_profiles c
  JOIN users cu ON cu.id = c.user_id
  CROSS JOIN LATERAL (SELECT 2 * 6371.0088 * asin(sqrt(
        power(sin(radians(c.latitude - (SELECT latitude FROM me)) / 2), 2)
      + cos(radians((SELECT latitude FROM me))) * cos(radians(c.latitude))
        * power(sin(radians(c.longitude - (SELECT longitude FROM me)) / 2), 2))) AS km) d
 WHERE c.location <@ box(point(me.longitude - me.max_distance / (111.2 * cos(radians(me.latitude))),
                               me.latitude - me.max_distance / 111.2),
                         point(me.longitude + me.max_distance / (111.2 * cos(radians(me.latitude))),
                               me.latitude + me.max_distance / 111.2))
   AND c.user_id <> me.user_id
   AND cu.banned_at IS NULL AND cu.hidden_at IS NULL AND cu.deleted_at IS NULL
   AND c.first_name IS NOT NULL AND c.birth_date IS NOT NULL AND c.gender IS NOT NULL
   AND d.km <= me.max_distance AND d.km <= c.max_distance
   AND date_part('year', age(c.birth_date)) BETWEEN me.age_min AND me.age_max
   AND me.my_age BETWEEN c.age_min AND c.age_max
   AND (me.show_me = 'everyone' OR (me.show_me = 'men' AND c.gender = 'male')
        OR (me.show_me = 'women' AND c.gender = 'female'))
   AND (c.show_me = 'everyone' OR (c.show_me = 'men' AND me.gender = 'male')
        OR (c.show_me = 'women' AND me.gender = 'female'))
   AND NOT EXISTS (SELECT 1 FROM swipes s WHERE s.swiper_id = me.user_id AND s.swiped_id = c.user_id)
   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = me.user_id AND b.blocked_id = c.user_id)
                                          OR (b.blocker_id = c.user_id AND b.blocked_id = me.user_id))
   AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.user1_id = least(me.user_id, c.user_id)
                                            AND m.user2_id = greatest(me.user_id, c.user_id))
 ORDER BY score DESC, c.user_id
 LIMIT 20
"""


async def _viewers(database_url: str, user_ids: list[uuid.UUID], count: int) -> list[tuple[uuid.UUID, str]]:
    """(user id, access token) for `count` users, with sessions made in SQL (OTP logins would dominate)."""
    import asyncpg

    from kit.db import sync_url
    from kit.security import issue_token
    from kit.settings import Settings

    settings = Settings(jwt_secret=JWT_SECRET, database_url=database_url)
    chosen = [user_ids[i] for i in np.random.default_rng(1).choice(len(user_ids), count, replace=False)]
    sessions = [(uuid.uuid4(), u) for u in chosen]
    conn = await asyncpg.connect(sync_url(database_url))
    try:
        await conn.executemany(
            "INSERT INTO auth_sessions (id, user_id, refresh_jti_hash, expires_at) "
            "VALUES ($1, $2, 'bench', now() + interval '1 day')",
            sessions,
        )
    finally:
        await conn.close()
    return [(u, issue_token(settings, u, s, "access")[0]) for s, u in sessions]


async def _sql_baseline(database_url: str, viewers, duration: float, concurrency: int) -> tuple[np.ndarray, float]:
    import asyncpg

    from kit.db import sync_url

    pool = await asyncpg.create_pool(sync_url(database_url), min_size=concurrency, max_size=concurrency)
    latencies: list[float] = []
    deadline = time.perf_counter() + duration

    async def worker(k: int) -> None:
        i = k
        async with pool.acquire() as conn:
            stmt = await conn.prepare(BASELINE_SQL)
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                await stmt.fetch(viewers[i % len(viewers)][0])
                latencies.append((time.perf_counter() - start) * 1000)
                i += concurrency

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
    finally:
        await pool.close()
    return np.array(latencies), time.perf_counter() - started


async def _scoring_rate(database_url: str, viewers, seconds: float = 3.0) -> tuple[float, int]:
    """Candidates scored per second by one core: the in-process index, one partition = all rows."""
    import asyncpg

    from deployments.matching.ranker import FeedRanker
    from kit.db import sync_url

    ranker = FeedRanker(database_url, grid_km=1.0)
    await ranker.refresh(full=True)
    conn = await asyncpg.connect(sync_url(database_url))
    try:
        rows = await conn.fetch(
            "SELECT p.*, date_part('year', age(p.birth_date))::int AS age, ARRAY(SELECT "
            "interest_name FROM user_interests i WHERE i.user_id = p.user_id) AS interests "
            "FROM user_profiles p WHERE p.user_id = ANY($1::uuid[])",
            [v[0] for v in viewers],
        )
    finally:
        await conn.close()
    specs = [
        {
            "id": str(r["user_id"]),
            "latitude": r["latitude"],
            "longitude": r["longitude"],
            "age": r["age"],
            "gender": r["gender"],
            "show_me": r["show_me"],
            "age_min": r["age_min"],
            "age_max": r["age_max"],
            "max_distance": r["max_distance"],
            "interests": list(r["interests"]),
            "liked_by": [],
        }
        for r in rows
    ]
    scored, calls, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        scored += (await ranker.rank_partition(specs[calls % len(specs)], limit=25))["scored"]
        calls += 1
    return scored / (time.perf_counter() - start), len(ranker.index)


async def _swipe_plan(database_url: str, viewers, per_viewer: int) -> tuple[list[tuple[str, uuid.UUID]], int]:
    """(token, target) pairs: for each viewer first the people who already liked them (each a match), then others."""
    import asyncpg

    from kit.db import sync_url

    conn = await asyncpg.connect(sync_url(database_url))
    plan, expected = [], 0
    try:
        for user_id, token in viewers:
            admirers = await conn.fetch(
                "SELECT s.swiper_id FROM swipes s WHERE s.swiped_id = $1 AND s.action = 'like' AND NOT EXISTS "
                "(SELECT 1 FROM swipes r WHERE r.swiper_id = $1 AND r.swiped_id = s.swiper_id) LIMIT $2",
                user_id,
                per_viewer // 2,
            )
            others = await conn.fetch(
                "SELECT user_id FROM user_profiles TABLESAMPLE SYSTEM (1) WHERE user_id <> $1 AND NOT EXISTS "
                "(SELECT 1 FROM swipes r WHERE r.swiper_id = $1 AND r.swiped_id = user_id) LIMIT $2",
                user_id,
                per_viewer - len(admirers),
            )
            expected += len(admirers)
            plan += [(token, r[0]) for r in (*admirers, *others)]
    finally:
        await conn.close()
    return plan, expected


async def _swipe_load(base: str, plan, connections: int) -> tuple[int, int, float, np.ndarray]:
    """Each planned swipe once, over `connections` keep-alive connections; (ok, errors, seconds, latencies)."""
    import json as _json

    url = f"{base}/api/v1/matching/swipe"
    reqs = [
        _request_bytes(
            "POST",
            url,
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            _json.dumps({"target_user_id": str(target), "action": "like"}).encode(),
        )
        for token, target in plan
    ]
    host, port = reqs[0][0], reqs[0][1]
    latencies, errors = [], [0]

    async def connection(chunk) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for _, _, payload in chunk:
                start = time.perf_counter()
                writer.write(payload)
                if await _read_response(reader) >= 400:
                    errors[0] += 1
                latencies.append((time.perf_counter() - start) * 1000)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection(reqs[c::connections]) for c in range(connections)))
    return len(latencies) - errors[0], errors[0], time.perf_counter() - start, np.array(latencies)


async def _count_matches(database_url: str) -> int:
    import asyncpg

    from kit.db import sync_url

    conn = await asyncpg.connect(sync_url(database_url))
    try:
        return await conn.fetchval("SELECT count(*) FROM matches")
    finally:
        await conn.close()


def _stack(name: str, env, replica_env: dict | None = None):
    if name == "serve":
        return serve_app(env, extra_env=EXTRA_ENV, replica_env=replica_env)
    return uvicorn_app(env, extra_env=EXTRA_ENV)


def _feed_through(base: str, viewers, args) -> object:
    headers = [{"Authorization": f"Bearer {token}"} for _, token in viewers]
    for _, token in viewers[:3]:  # the first call loads the whole index
        http_json("GET", f"{base}/api/v1/matching/feed?limit=20", token=token)
    url = f"{base}/api/v1/matching/feed?limit=20"
    run_load(url, duration=2, connections=args.connections, headers_list=headers)  # warm-up
    return run_load(url, duration=args.duration, connections=args.connections, headers_list=headers)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench feed")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--stack", choices=["uvicorn", "serve", "both"], default="uvicorn")
    parser.add_argument("--swipes-per-viewer", type=int, default=10)
    parser.add_argument(
        "--serve-loops",
        choices=["config", "separate"],
        default="config",
        help="separate: run Serve replicas without serve_config.yaml's one-event-loop env vars",
    )
    args = parser.parse_args(argv)
    stacks = ["uvicorn", "serve"] if args.stack == "both" else [args.stack]
    feed = Table(
        f"GET /feed?limit=20 at {args.users:,} profiles, {args.connections} concurrent, {args.duration:.0f} s",
        ["stack", "req/s", "p50 ms", "p99 ms", "errors"],
    )
    other = Table("Scoring and swipes", ["measure", "value"])
    with infra() as env:
        data = asyncio.run(generate(env.database_url, args.users))
        other.add(
            f"generated {data.users:,} users + {data.swipes:,} swipes (COPY), rows/s",
            (data.users * 3 + data.swipes) / data.seconds,
        )
        viewers = asyncio.run(_viewers(env.database_url, data.user_ids, args.viewers))
        lat, secs = asyncio.run(_sql_baseline(env.database_url, viewers, args.duration, args.connections))
        feed.add(
            "single SQL query (GIST), asyncpg direct",
            len(lat) / secs,
            float(np.percentile(lat, 50)),
            float(np.percentile(lat, 99)),
            "0",
        )
        rate, indexed = asyncio.run(_scoring_rate(env.database_url, viewers))
        other.add(f"candidates scored per second on one core ({indexed:,} in the index)", rate)
        for name in stacks:
            with _stack(name, env, {} if args.serve_loops == "separate" else None) as base:
                result = _feed_through(base, viewers, args)
                feed.add(f"app: {name}, FeedRanker", result.rps, result.pct(50), result.pct(99), str(result.errors))
                plan, expected = asyncio.run(_swipe_plan(env.database_url, viewers[:500], args.swipes_per_viewer))
                before = asyncio.run(_count_matches(env.database_url))
                ok, errors, seconds, swipe_lat = asyncio.run(_swipe_load(base, plan, args.connections))
                made = asyncio.run(_count_matches(env.database_url)) - before
                other.add(
                    f"{name}: swipes/s with match detection ({ok:,} ok, {errors} errors, "
                    f"{made:,}/{expected:,} matches, p99 {np.percentile(swipe_lat, 99):.1f} ms)",
                    ok / seconds,
                )
    feed.print()
    other.print()
    return 0
