"""Push: notifications per second through the dispatcher to local APNs and FCM fakes, and what
push costs the send path: POST /messages/send latency with push enabled (the recipient has a
device, so the send writes an outbox row and the app's dispatcher loop delivers it) versus
disabled (no device: no row), alternating in the same run against the same server.

The fakes (tests/fakes: APNs on h2c, FCM on HTTP/1.1) run in their own process, so their CPU is
not the dispatcher's. Delivery latency is from the send's HTTP answer (the message committed) to
the fake's receipt; a burst collapses into one push, whose latency counts from the burst's first
message. Websocket delivery latency is `bench chat`'s.

Usage:
  make bench BENCH_ARGS="push [--notifications 4000] [--pairs 32] [--senders 16] [--duration 8] [--rounds 2]"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import secrets
import time
import uuid
from dataclasses import dataclass

import numpy as np

import bench.common as common
from bench.common import Table, infra

common.BENCH_DIR = common.ROOT / "var" / "bench-push"  # infra() empties it: not another scenario's
JWT_SECRET = secrets.token_urlsafe(32)
KEY_ID, TEAM_ID, TOPIC, PROJECT = "BENCHKEY01", "BENCHTEAM1", "org.example.bench", "bench-project"
EMAIL = "push@bench-project.iam.gserviceaccount.com"


# ---------------------------------------------------------------- the fakes, in their own process
def _fakes_process(conn, ec_public: str, rsa_public: str) -> None:
    asyncio.run(_serve_fakes(conn, ec_public, rsa_public))


async def _serve_fakes(conn, ec_public: str, rsa_public: str) -> None:
    import uvicorn

    from tests.fakes.apns import ApnsFake
    from tests.fakes.fcm import FcmFake

    apns = await ApnsFake(ec_public, KEY_ID, TEAM_ID, TOPIC).start()
    fcm = FcmFake(rsa_public, EMAIL, PROJECT)
    server = uvicorn.Server(uvicorn.Config(fcm.app(), host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    fcm.token_uri = f"http://127.0.0.1:{port}/token"
    receipts: list[tuple[str, float]] = []
    _stamp(apns, receipts, lambda r: r["payload"].get("match_id", ""))
    _stamp(fcm, receipts, lambda r: r["message"]["data"].get("match_id", ""))
    conn.send({"apns": apns.url, "fcm": f"http://127.0.0.1:{port}", "token_uri": fcm.token_uri})
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "receipts":
            conn.send(list(receipts))
            receipts.clear()
        elif command == "stop":
            break
    server.should_exit = True
    await task
    await apns.stop()


def _stamp(fake, receipts: list, match_of) -> None:
    """Timestamp every delivery the fake accepts (its `received` list gets appends)."""

    class Stamped(list):
        def append(self, item) -> None:
            receipts.append((match_of(item), time.time()))

    fake.received = Stamped()


# ---------------------------------------------------------------- data
@dataclass
class Member:
    user_id: uuid.UUID
    session_id: uuid.UUID
    token: str


async def _members(conn, count: int) -> list[Member]:
    from kit.security import issue_token
    from kit.settings import Settings

    settings = Settings(jwt_secret=JWT_SECRET)
    rows = [(uuid.uuid4(), uuid.uuid4(), f"+1{secrets.randbelow(10**10):010d}") for _ in range(count)]
    await conn.executemany(
        "INSERT INTO users (id, phone_number, is_verified) VALUES ($1, $2, true)", [(u, phone) for u, _, phone in rows]
    )
    await conn.executemany(
        "INSERT INTO auth_sessions (id, user_id, refresh_jti_hash, expires_at) "
        "VALUES ($1, $2, 'bench', now() + interval '1 day')",
        [(s, u) for u, s, _ in rows],
    )
    await conn.executemany(
        "INSERT INTO user_profiles (user_id, first_name) VALUES ($1, 'Sam')", [(u,) for u, _, _ in rows]
    )
    return [Member(u, s, issue_token(settings, u, s, "access")[0]) for u, s, _ in rows]


async def _match(conn, a: Member, b: Member) -> uuid.UUID:
    from models import canonical_pair

    u1, u2 = canonical_pair(a.user_id, b.user_id)
    return await conn.fetchval("INSERT INTO matches (user1_id, user2_id) VALUES ($1, $2) RETURNING id", u1, u2)


async def _device(conn, member: Member, index: int) -> None:
    platform = "ios" if index % 2 == 0 else "android"
    token = secrets.token_hex(32) if platform == "ios" else f"fcm:{secrets.token_urlsafe(24)}"
    await conn.execute(
        "INSERT INTO push_devices (user_id, session_id, platform, token) VALUES ($1, $2, $3, $4)",
        member.user_id,
        member.session_id,
        platform,
        token,
    )


# ---------------------------------------------------------------- 1. the dispatcher alone
async def dispatcher_throughput(inf, env: dict, count: int) -> tuple[float, float]:
    """Rows written by `count` messages to `count` offline recipients (half iOS, half Android),
    drained by one in-process PushDispatcher: (notifications/s, seconds)."""
    import asyncpg

    from deployments.push.lifecycle import build_dispatcher
    from deployments.push.presence import Presence
    from kit.db import LazyPool, sync_url
    from kit.redis import make_redis
    from kit.settings import Settings

    conn = await asyncpg.connect(sync_url(inf.database_url))
    try:
        sender, *recipients = await _members(conn, count + 1)
        for i, member in enumerate(recipients):
            match_id = await _match(conn, sender, member)  # before the device: no new_match push
            await _device(conn, member, i)
            await conn.execute(
                "INSERT INTO messages (match_id, sender_id, content, seq) VALUES ($1, $2, 'hi', 1)",
                match_id,
                sender.user_id,
            )
    finally:
        await conn.close()
    settings = Settings(**{k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields})
    pool, redis = LazyPool(inf.database_url, max_size=4), make_redis(inf.redis_url)
    dispatcher = build_dispatcher(settings, pool, Presence(redis))
    started = time.perf_counter()
    while await dispatcher.run_once():
        pass
    elapsed = time.perf_counter() - started
    sent = dispatcher.stats.sent
    await dispatcher.close()
    await pool.close()
    await redis.aclose()
    if sent != count:
        raise RuntimeError(f"dispatcher sent {sent} of {count} (stats {dispatcher.stats})")
    return count / elapsed, elapsed


# ---------------------------------------------------------------- 2. the send path, push on and off
async def send_load(
    base: str, pairs: list[tuple[Member, uuid.UUID]], senders: int, duration: float, sent_at: dict[str, list[float]]
) -> list[float]:
    """Closed loop: `senders` clients each POST /messages/send over their pairs for `duration` s."""
    import httpx

    latencies: list[float] = []
    deadline = time.perf_counter() + duration

    async def client(i: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            n = 0
            while time.perf_counter() < deadline:
                member, match_id = pairs[(i + n * senders) % len(pairs)]
                n += 1
                started = time.perf_counter()
                response = await http.post(
                    "/api/v1/messages/send",
                    json={"match_id": str(match_id), "content": "hi"},
                    headers={"Authorization": f"Bearer {member.token}"},
                )
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"send failed: {response.status_code} {response.text}")
                sent_at.setdefault(str(match_id), []).append(time.time())

    await asyncio.gather(*(client(i) for i in range(senders)))
    return latencies


def delivery_latencies(sent_at: dict[str, list[float]], receipts: list[tuple[str, float]]) -> list[float]:
    """Per push: receipt time minus the first send it covers (sends collapse into one push)."""
    out = []
    pending = {m: sorted(times) for m, times in sent_at.items()}
    for match_id, received in sorted(receipts, key=lambda r: r[1]):
        times = pending.get(match_id, [])
        covered = [t for t in times if t <= received]
        if covered:
            out.append(received - covered[0])
            pending[match_id] = [t for t in times if t > received]
    return out


def pct(values, q: float) -> float:
    return float(np.percentile(np.array(values), q)) * 1000 if len(values) else float("nan")


# ---------------------------------------------------------------- main
def _keys(directory) -> tuple[dict, str, tuple[str, str]]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    def private(key) -> str:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    def public(key) -> str:
        return (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    ec_key, rsa_key = ec.generate_private_key(ec.SECP256R1()), rsa.generate_private_key(65537, 2048)
    (directory / "AuthKey.p8").write_text(private(ec_key))
    paths = {"APNS_KEY_PATH": str(directory / "AuthKey.p8"), "FCM_CREDENTIALS_PATH": str(directory / "fcm.json")}
    return paths, public(ec_key), (private(rsa_key), public(rsa_key))


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench push")
    parser.add_argument("--notifications", type=int, default=4000)
    parser.add_argument("--pairs", type=int, default=32)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    opts = parser.parse_args(args)
    with infra() as inf:
        paths, ec_public, (rsa_private, rsa_public) = _keys(common.BENCH_DIR)
        parent, child = multiprocessing.Pipe()
        fakes = multiprocessing.get_context("spawn").Process(
            target=_fakes_process, args=(child, ec_public, rsa_public), daemon=True
        )
        fakes.start()
        urls = parent.recv()
        (common.BENCH_DIR / "fcm.json").write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": PROJECT,
                    "client_email": EMAIL,
                    "private_key": rsa_private,
                    "token_uri": urls["token_uri"],
                }
            )
        )
        env = {
            **paths,
            "JWT_SECRET": JWT_SECRET,
            "PUSH_PROVIDER": "native",
            "APNS_KEY_ID": KEY_ID,
            "APNS_TEAM_ID": TEAM_ID,
            "APNS_TOPIC": TOPIC,
            "APNS_API_BASE": urls["apns"],
            "FCM_PROJECT_ID": PROJECT,
            "FCM_API_BASE": urls["fcm"],
            "PUSH_COLLAPSE_WINDOW_S": "0",
            "PUSH_DISPATCH_INTERVAL_S": "0.1",
            "RATE_MESSAGES_PER_MINUTE": "100000000",
            "RATE_API_PER_HOUR": "1000000000",
            "DATABASE_URL": inf.database_url,
            "REDIS_URL": inf.redis_url,
        }
        try:
            return asyncio.run(_run(opts, inf, env, parent))
        finally:
            parent.send("stop")
            fakes.join(timeout=10)


async def _run(opts, inf, env: dict, fakes) -> int:
    import asyncpg

    from kit.db import sync_url

    rate, seconds = await dispatcher_throughput(inf, env, opts.notifications)
    fakes.send("receipts")
    fakes.recv()
    conn = await asyncpg.connect(sync_url(inf.database_url))
    try:
        members = await _members(conn, 4 * opts.pairs)
        on, off = [], []
        for i in range(opts.pairs):
            sender, with_device, sender2, without = members[4 * i : 4 * i + 4]
            on.append((sender, await _match(conn, sender, with_device)))
            await _device(conn, with_device, i)
            off.append((sender2, await _match(conn, sender2, without)))
    finally:
        await conn.close()
    latency: dict[str, list[float]] = {"disabled": [], "enabled": []}
    sent_at: dict[str, list[float]] = {}
    with common.uvicorn_app(inf, extra_env=env) as base:
        await send_load(base, on + off, opts.senders, 2.0, {})  # warm-up: pools, caches
        for _ in range(opts.rounds):
            latency["disabled"] += await send_load(base, off, opts.senders, opts.duration, {})
            latency["enabled"] += await send_load(base, on, opts.senders, opts.duration, sent_at)
        await asyncio.sleep(1.0)  # the last pushes reach the fakes
        fakes.send("receipts")
        receipts = await asyncio.get_running_loop().run_in_executor(None, fakes.recv)
    delivered = delivery_latencies(sent_at, receipts)

    table = Table(
        "Push dispatcher (one in-process PushDispatcher, fakes in another process)",
        ["notifications", "seconds", "notifications/s"],
    )
    table.add(f"{opts.notifications:,}", seconds, rate)
    table.print()
    table = Table(
        f"POST /api/v1/messages/send, bare uvicorn, {opts.senders} closed-loop senders, "
        f"{opts.rounds}x{opts.duration:g} s each, alternating",
        ["push", "requests", "p50 ms", "p99 ms"],
    )
    for name, values in latency.items():
        table.add(name, f"{len(values):,}", pct(values, 50), pct(values, 99))
    table.print()
    table = Table(
        "Delivery: send answered -> fake received (dispatcher polls every 0.1 s, no collapse window)",
        ["pushes", "p50 ms", "p99 ms"],
    )
    table.add(f"{len(delivered):,}", pct(delivered, 50), pct(delivered, 99))
    table.print()
    return 0
