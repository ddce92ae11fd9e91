"""Gateway throughput: authenticated GET /api/v1/profile/me through Ray Serve vs bare uvicorn,
beside the reference (`bench.reference`: a minimal FastAPI app on bare uvicorn that decodes the
same token and reads the profile row by key with asyncpg).

Same database, same users, same load generator, one run. Usage:
  make bench BENCH_ARGS="gateway [--duration 10] [--connections 64] [--default-proxy]"
"""

from __future__ import annotations

import argparse

from bench.common import Table, http_json, infra, login, reference_app, serve_app, uvicorn_app
from bench.loadgen import LoadResult, run_alternating, run_load

PROFILE = {
    "first_name": "Bench",
    "birth_date": "1990-01-01",
    "gender": "female",
    "location": {"latitude": 52.52, "longitude": 13.405},
    "interests": ["running", "jazz"],
}


def _users(base: str, env, count: int, offset: int) -> list[dict[str, str]]:
    headers = []
    for i in range(count):
        token = login(base, env, f"+1202555{offset + i:04d}")["token"]
        http_json("PUT", f"{base}/api/v1/profile/me", PROFILE, token)
        headers.append({"Authorization": f"Bearer {token}"})
    return headers


def _measure(base: str, headers, args, path: str = "/api/v1/profile/me") -> LoadResult:
    run_load(f"{base}{path}", duration=2, connections=args.connections, headers_list=headers)  # warm-up
    return run_load(f"{base}{path}", duration=args.duration, connections=args.connections, headers_list=headers)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench gateway")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--default-proxy", action="store_true", help="also measure Serve's default proxy")
    parser.add_argument("--no-serve", action="store_true", help="bare uvicorn and the reference only")
    parser.add_argument("--rounds", type=int, default=5, help="alternating slices of the uvicorn/reference runs")
    args = parser.parse_args(argv)
    table = Table(
        f"GET /api/v1/profile/me, {args.connections} connections, {args.duration:.0f} s each",
        ["stack", "req/s", "p50 ms", "p99 ms", "errors", "req/s vs uvicorn", "req/s vs reference"],
    )
    with infra() as env:
        # Both up at once and measured in alternating slices: on a shared machine the load of
        # others moves within seconds, and a ratio of back-to-back runs would mostly measure that.
        with uvicorn_app(env) as base, reference_app(env) as reference_base:
            headers = _users(base, env, args.users, 0)
            baseline, reference = run_alternating(
                [base, reference_base], "/api/v1/profile/me", headers, args.connections, args.duration, args.rounds
            )
        table.add(
            "reference: minimal FastAPI + pyjwt + asyncpg, bare uvicorn",
            reference.rps,
            reference.pct(50),
            reference.pct(99),
            str(reference.errors),
            f"{reference.rps / baseline.rps:.2f}",
            "1.00",
        )
        table.add(
            "app: bare uvicorn (1 process)",
            baseline.rps,
            baseline.pct(50),
            baseline.pct(99),
            str(baseline.errors),
            "1.00",
            f"{baseline.rps / reference.rps:.2f}",
        )
        variants = [] if args.no_serve else [("Ray Serve, direct ingress + HAProxy", True)]
        if args.default_proxy:
            variants.append(("Ray Serve, default proxy", False))
        for label, fast in variants:
            with serve_app(env, fast_ingress=fast) as base:
                result = _measure(base, headers, args)
            table.add(
                f"app: {label}",
                result.rps,
                result.pct(50),
                result.pct(99),
                str(result.errors),
                f"{result.rps / baseline.rps:.2f}",
                f"{result.rps / reference.rps:.2f}",
            )
    table.print()
    return 0
