"""Per-request cost of the hot authenticated routes: the app on bare uvicorn beside the reference
(`bench.reference`: minimal FastAPI + pyjwt + asyncpg doing the same essential statements), both
on bare uvicorn, the same database, data and load generator, in one run.

Routes: GET /api/v1/matching/matches (each user has 5 matches with a last message),
GET /api/v1/messages/conversations/{id} (20 messages each), POST /api/v1/matching/swipe (likes,
every swipe a new pair, half of them answered by an earlier like so they make a match; at
--connections and at 2). Users, sessions and tokens are made in SQL (OTP logins would dominate).
Usage:
  make bench BENCH_ARGS="routes [--duration 10] [--connections 64] [--users 200]"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections import Counter

import numpy as np

from bench.chat import EXTRA_ENV, Member, _members
from bench.common import Infra, Table, infra, reference_app, uvicorn_app
from bench.loadgen import LoadResult, _read_response, _request_bytes, run_alternating

MATCHES_PER_USER = 5
MESSAGES_PER_MATCH = 20


async def _social_graph(database_url: str, members: list[Member]) -> list[tuple[Member, uuid.UUID]]:
    """Profiles, MATCHES_PER_USER matches per user with messages; (member, one of their matches)."""
    import asyncpg

    from kit.db import sync_url
    from models import canonical_pair

    conn = await asyncpg.connect(sync_url(database_url))
    try:
        await conn.executemany(
            "INSERT INTO user_profiles (user_id, first_name, birth_date, gender, latitude, longitude) "
            "VALUES ($1, 'Bench', '1990-01-01', 'female', 52.52, 13.405)",
            [(m.user_id,) for m in members],
        )
        n, out = len(members), []
        for i, member in enumerate(members):
            for k in range(1, MATCHES_PER_USER // 2 + 2):
                u1, u2 = canonical_pair(member.user_id, members[(i + k) % n].user_id)
                match_id = await conn.fetchval(
                    "INSERT INTO matches (user1_id, user2_id, last_seq, last_message_at) VALUES ($1, $2, $3, now())"
                    " ON CONFLICT DO NOTHING RETURNING id",
                    u1,
                    u2,
                    MESSAGES_PER_MATCH,
                )
                if match_id is None:
                    continue
                await conn.executemany(
                    "INSERT INTO messages (match_id, sender_id, content, seq) VALUES ($1, $2, $3, $4)",
                    [(match_id, (u1, u2)[s % 2], f"message {s}", s) for s in range(1, MESSAGES_PER_MATCH + 1)],
                )
                if k == 1:
                    out.append((member, match_id))
    finally:
        await conn.close()
    return out


async def _swipe_plan(database_url: str, swipers: list[Member], targets: list[Member], per_swiper: int):
    """(token, target) likes, each pair once; every other one answered by an earlier like (a match)."""
    import asyncpg

    from kit.db import sync_url

    plan, answered = [], []
    for i, swiper in enumerate(swipers):
        for k in range(per_swiper):
            target = targets[(i * per_swiper + k) % len(targets)]
            plan.append((swiper.token, target.user_id))
            if k % 2 == 0:
                answered.append((target.user_id, swiper.user_id))
    conn = await asyncpg.connect(sync_url(database_url))
    try:
        await conn.executemany(
            "INSERT INTO swipes (swiper_id, swiped_id, action) VALUES ($1, $2, 'like') ON CONFLICT DO NOTHING", answered
        )
    finally:
        await conn.close()
    return plan


async def _swipe_load(base: str, plan, connections: int) -> tuple[int, int, float, np.ndarray]:
    """Each planned swipe once over `connections` keep-alive connections (a dropped connection
    counts an error and is reopened); (ok, errors, seconds, latencies)."""
    url = f"{base}/api/v1/matching/swipe"
    reqs = [
        _request_bytes(
            "POST",
            url,
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            json.dumps({"target_user_id": str(target), "action": "like"}).encode(),
        )
        for token, target in plan
    ]
    host, port = reqs[0][0], reqs[0][1]
    latencies: list[float] = []
    errors = [0]
    statuses: Counter[int] = Counter()

    async def connection(chunk) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        for _, _, payload in chunk:
            start = time.perf_counter()
            try:
                writer.write(payload)
                status = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                errors[0] += 1
                statuses[-1] += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            if status >= 400:
                errors[0] += 1
                statuses[status] += 1
            latencies.append((time.perf_counter() - start) * 1000)
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection(reqs[c::connections]) for c in range(connections)))
    detail = f"{errors[0]} ({', '.join(f'{n}x {s}' for s, n in statuses.most_common())})" if errors[0] else "0"
    return len(latencies) - errors[0], detail, time.perf_counter() - start, np.array(latencies)


def _alternating(bases: list[str], paths_headers: list[tuple[str, dict]], args) -> list[LoadResult]:
    """Each connection cycles its users' requests (one URL per run: the load generator's limit)."""
    path, headers = paths_headers[0][0], [h for _, h in paths_headers]
    return run_alternating(bases, path, headers, args.connections, args.duration, args.rounds)


async def _data(env: Infra, args):
    users = await _members(env.database_url, args.users, 301)
    graph = await _social_graph(env.database_url, users)
    stacks = {}
    for offset, stack in enumerate(("reference", "app")):
        swipers = await _members(env.database_url, args.swipers, 310 + 2 * offset)
        targets = await _members(env.database_url, args.swipers * 2, 311 + 2 * offset)
        plans = [await _swipe_plan(env.database_url, swipers[i::3], targets, args.per_swiper) for i in range(3)]
        stacks[stack] = plans  # warm-up, at --connections, at 2
    return users, graph, stacks


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench routes")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--swipers", type=int, default=600)
    parser.add_argument("--per-swiper", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5, help="alternating slices per GET row")
    args = parser.parse_args(argv)
    table = Table(
        f"Hot routes, app vs reference, both on bare uvicorn ({args.duration:.0f} s per GET row)",
        ["route", "connections", "stack", "req/s", "p50 ms", "p99 ms", "errors", "app / reference"],
    )
    with infra() as env:
        # One load generator is one client address: its 64 connections would meet the per-address cap
        # (background tasks keep a request in flight after its answer), which real clients do not.
        env_vars = {**EXTRA_ENV, "HTTP_MAX_INFLIGHT_PER_ADDRESS": "100000"}
        users, graph, plans = asyncio.run(_data(env, args))
        auth = [{"Authorization": f"Bearer {m.token}"} for m in users]
        conversation = [
            (f"/api/v1/messages/conversations/{mid}", {"Authorization": f"Bearer {m.token}"}) for m, mid in graph[:1]
        ]
        results: dict[tuple[str, str], tuple] = {}
        # Both up at once, measured in alternating slices (see bench.gateway: the machine's load
        # moves within seconds); swipes alternate too, each stack with its own fresh pairs.
        with reference_app(env, extra_env=env_vars) as ref, uvicorn_app(env, extra_env=env_vars) as app:
            bases = {"reference": ref, "app": app}
            for route, paths in (
                ("GET /api/v1/matching/matches", [("/api/v1/matching/matches", h) for h in auth]),
                ("GET /api/v1/messages/conversations/{id}", conversation),
            ):
                measured = _alternating(list(bases.values()), paths, args)
                for stack, result in zip(bases, measured):
                    results[(route, stack)] = (args.connections, result)
            for stack, base in bases.items():
                warm = plans[stack][0]
                asyncio.run(_swipe_load(base, warm[: len(warm) // 4], args.connections))
            for index, connections in ((1, args.connections), (2, 2)):
                for stack, base in bases.items():
                    plan = plans[stack][index]
                    plan = plan if connections > 2 else plan[: len(plan) // 4]
                    results[(f"POST /api/v1/matching/swipe @{connections}", stack)] = (
                        connections,
                        asyncio.run(_swipe_load(base, plan, connections)),
                    )
        _fill(table, results)
    table.print()
    return 0


def _fill(table: Table, results: dict) -> None:
    routes = dict.fromkeys(route for route, _ in results)
    for route in routes:
        rates = {}
        for stack in ("reference", "app"):
            connections, r = results[(route, stack)]
            if isinstance(r, tuple):
                ok, errors, seconds, lat = r
                rps, p50, p99 = ok / seconds, float(np.percentile(lat, 50)), float(np.percentile(lat, 99))
            else:
                rps, p50, p99, errors = r.rps, r.pct(50), r.pct(99), r.errors
            rates[stack] = rps
            ratio = "1.00" if stack == "reference" else f"{rps / rates['reference']:.2f}"
            table.add(route.split(" @")[0], str(connections), stack, rps, p50, p99, str(errors), ratio)
