"""Chat: N connected pairs exchanging messages over websockets (send_message -> PostgreSQL ->
Redis pub/sub -> the recipient's gateway replica -> socket), side by side with a minimal
single-process websocket relay with the same persistence (no Ray, no Redis, no FastAPI),
plus idle authenticated sockets held by one gateway process (bare uvicorn, and one Serve
Gateway replica behind HAProxy) and the memory each costs.

Stacks: `uvicorn` (the app in one bare uvicorn process, in-process shards), `serve` (Ray
Serve as `make run` deploys it: serve_config.yaml on a fresh local Ray, 2 Gateway replicas
unless `--replicas`, Ray MatchShard actors), `relay` (the baseline; always run). The relay and the load generator run
on uvloop, as the servers compared do (Ray's actors and uvicorn pick it by default). Load is
open-loop: every user sends at rate/(2*pairs) msgs/s; latency is send -> the recipient's
socket receiving `new_message`.

Usage:
  make bench BENCH_ARGS="chat [--stack uvicorn|serve|both] [--pairs 20] [--rate 500] [--duration 10]
                         [--idle 2000] [--cpu]"
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import uvloop

import bench.common as common
from bench.common import Table, free_port, infra, wait_healthy
from bench.cpu import CpuWindow

# Its own data directory: `infra()` empties BENCH_DIR, which must not be another scenario's.
common.BENCH_DIR = common.ROOT / "var" / "bench-chat"
ERROR_CODES: collections.Counter = collections.Counter()  # error events seen, by code (printed with the table)
JWT_SECRET = secrets.token_urlsafe(32)  # shared with the servers so tokens can be minted directly
EXTRA_ENV = {"JWT_SECRET": JWT_SECRET, "LOG_LEVEL": "WARNING"}
UPDATE_SEQ = (
    "UPDATE matches SET last_seq = last_seq + 1, last_message_at = now() WHERE id = $1 AND is_active "
    "RETURNING last_seq, user1_id, user2_id"
)
INSERT_MESSAGE = (
    "INSERT INTO messages (match_id, sender_id, content, message_type, seq, client_message_id) "
    "VALUES ($1, $2, $3, 'text', $4, $5) RETURNING id, sent_at"
)


# ---------------------------------------------------------------- data: users, sessions, tokens, matches
@dataclass
class Member:
    user_id: uuid.UUID
    token: str


async def _members(database_url: str, count: int, prefix: int) -> list[Member]:
    """Users with a live session and an access token, made in SQL (OTP logins would dominate the run)."""
    import asyncpg

    from kit.db import sync_url
    from kit.security import issue_token
    from kit.settings import Settings

    settings = Settings(jwt_secret=JWT_SECRET, database_url=database_url)
    users = [(uuid.uuid4(), uuid.uuid4(), f"+1{prefix:03d}{i:07d}") for i in range(count)]
    conn = await asyncpg.connect(sync_url(database_url))
    try:
        await conn.executemany(
            "INSERT INTO users (id, phone_number, is_verified) VALUES ($1, $2, true)",
            [(u, phone) for u, _, phone in users],
        )
        await conn.executemany(
            "INSERT INTO auth_sessions (id, user_id, refresh_jti_hash, expires_at) "
            "VALUES ($1, $2, 'bench', now() + interval '1 day')",
            [(s, u) for u, s, _ in users],
        )
    finally:
        await conn.close()
    return [Member(u, issue_token(settings, u, s, "access")[0]) for u, s, _ in users]


async def _pairs(database_url: str, members: list[Member]) -> list[tuple[Member, Member, uuid.UUID]]:
    import asyncpg

    from kit.db import sync_url
    from models import canonical_pair

    out = []
    conn = await asyncpg.connect(sync_url(database_url))
    try:
        for a, b in zip(members[::2], members[1::2]):
            u1, u2 = canonical_pair(a.user_id, b.user_id)
            match_id = await conn.fetchval(
                "INSERT INTO matches (user1_id, user2_id) VALUES ($1, $2) RETURNING id", u1, u2
            )
            out.append((a, b, match_id))
    finally:
        await conn.close()
    return out


# ---------------------------------------------------------------- the load generator
async def _open(ws_url: str, member: Member):
    import websockets

    ws = await websockets.connect(ws_url, open_timeout=60, ping_interval=None, max_queue=None)
    await ws.send(json.dumps({"event": "authenticate", "data": {"token": member.token}}))
    frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
    if frame.get("event") != "authenticated":
        raise RuntimeError(f"authentication failed: {frame}")
    return ws


@dataclass
class ChatResult:
    sent: int
    delivered: int
    errors: int
    seconds: float
    latencies_ms: np.ndarray
    ack_ms: np.ndarray

    def pct(self, values: np.ndarray, q: float) -> float:
        return float(np.percentile(values, q)) if len(values) else float("nan")


async def chat_load(
    ws_url: str, pairs: list, rate: float, duration: float, warmup: float = 2.0, cpu: CpuWindow | None = None
) -> ChatResult:
    sockets = {}
    for a, b, _ in pairs:
        for m in (a, b):
            sockets[m.user_id] = await _open(ws_url, m)
    sent_at: dict[str, float] = {}
    latencies, acks, errors = [], [], [0]

    async def receive(ws) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                now = time.perf_counter()
                frame = json.loads(raw)
                event = frame["event"]
                if event in ("new_message", "message_sent"):
                    t0 = sent_at.get(frame["data"]["message"]["content"])
                    if t0 is not None and t0 >= start:  # the warm-up is not measured
                        (latencies if event == "new_message" else acks).append((now - t0) * 1000)
                elif event == "error":
                    errors[0] += 1
                    ERROR_CODES[frame["data"].get("code", "?")] += 1

    per_user_interval = (2 * len(pairs)) / rate
    start = time.perf_counter() + 0.2 + warmup
    stop = start + duration

    async def send(me: Member, match_id: uuid.UUID, ws, offset: float) -> None:
        k = 0
        while True:
            at = start - warmup + offset + k * per_user_interval  # open loop: a slow server does not slow the senders
            if at >= stop:
                return
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            key = f"{me.user_id.hex[:8]}-{k}"
            sent_at[key] = time.perf_counter()
            await ws.send(
                json.dumps(
                    {
                        "event": "send_message",
                        "data": {"match_id": str(match_id), "content": key, "client_message_id": key},
                    }
                )
            )
            k += 1

    async def sample_cpu() -> None:  # over the measured window only (not connecting, not warm-up)
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        cpu.begin()
        await asyncio.sleep(max(0.0, stop - time.perf_counter()))
        cpu.end()

    readers = [asyncio.create_task(receive(ws)) for ws in sockets.values()]
    senders = [sample_cpu()] if cpu is not None else []
    for i, (a, b, match_id) in enumerate(pairs):
        for j, m in enumerate((a, b)):
            offset = ((2 * i + j) / (2 * len(pairs))) * per_user_interval
            senders.append(send(m, match_id, sockets[m.user_id], offset))
    await asyncio.gather(*senders)
    sent = sum(1 for t0 in sent_at.values() if t0 >= start)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):  # let the last deliveries land
            while len(latencies) < sent and errors[0] == 0:
                await asyncio.sleep(0.05)
    seconds = duration
    for ws in sockets.values():
        await ws.close()
    for task in readers:
        task.cancel()
    return ChatResult(sent, len(latencies), errors[0], seconds, np.array(latencies), np.array(acks))


# ---------------------------------------------------------------- the baseline relay (run as a subprocess)
async def _relay(port: int) -> None:
    """One process: authenticate by token, persist with the app's SQL, write to the recipient's sockets."""
    import asyncpg
    import websockets

    from kit.db import sync_url
    from kit.security import TokenError, decode_token
    from kit.settings import Settings

    settings = Settings()
    pool = await asyncpg.create_pool(sync_url(settings.database_url), min_size=4, max_size=10)
    online: dict[uuid.UUID, set] = {}

    async def handle(ws) -> None:
        try:
            first = json.loads(await ws.recv())
            user_id = decode_token(settings, first["data"]["token"], "access").user_id
        except (TokenError, KeyError, ValueError, TypeError):
            await ws.close(4401)
            return
        online.setdefault(user_id, set()).add(ws)
        await ws.send(json.dumps({"event": "authenticated", "data": {"user_id": str(user_id)}}))
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("event") != "send_message":
                    continue
                data = frame["data"]
                match_id = uuid.UUID(data["match_id"])
                async with pool.acquire() as conn, conn.transaction():
                    row = await conn.fetchrow(UPDATE_SEQ, match_id)
                    msg = await conn.fetchrow(
                        INSERT_MESSAGE,
                        match_id,
                        user_id,
                        data["content"],
                        row["last_seq"],
                        data.get("client_message_id"),
                    )
                message = {
                    "id": str(msg["id"]),
                    "match_id": str(match_id),
                    "sender_id": str(user_id),
                    "content": data["content"],
                    "message_type": "text",
                    "sent_at": msg["sent_at"].isoformat(),
                    "seq": row["last_seq"],
                }
                await ws.send(json.dumps({"event": "message_sent", "data": {"message": message}}))
                other = row["user2_id"] if row["user1_id"] == user_id else row["user1_id"]
                out = json.dumps({"event": "new_message", "data": {"message": message}})
                for peer in list(online.get(other, ())):
                    with contextlib.suppress(Exception):
                        await peer.send(out)
        finally:
            online[user_id].discard(ws)

    async with websockets.serve(handle, "127.0.0.1", port, max_size=64 * 1024):
        print("ready", flush=True)
        await asyncio.Future()


@contextlib.contextmanager
def _subprocess(args: list[str], env: dict, ready: str, port: int, timeout_s: float = 300) -> Iterator[int]:
    """A bench server in its own process; yields its pid. Only this process (group) is stopped."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.chat", *args],
        env=env,
        cwd=common.ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise RuntimeError(f"{args[0]} exited with {proc.returncode}")
            if line.strip() == ready:
                break
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def relay_server(env: dict) -> Iterator[str]:
    port = free_port()
    with _subprocess(["relay", str(port)], env, "ready", port):
        yield f"ws://127.0.0.1:{port}"


@contextlib.contextmanager
def uvicorn_server(env: dict) -> Iterator[tuple[str, int]]:
    """The app on bare uvicorn (one process = one gateway replica); yields (ws url, pid)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "deployments.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--ws-per-message-deflate",
        "false",
    ]  # as the Serve gateway replicas (deployments/serve_app.py)
    proc = subprocess.Popen(cmd, env=env, cwd=common.ROOT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", 60)
        yield f"ws://127.0.0.1:{port}/ws", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextlib.contextmanager
def serve_server(infra_: common.Infra, replicas: int = 2) -> Iterator[str]:
    """The app as `make run` deploys it: `serve deploy serve_config.yaml` on a fresh local Ray,
    direct ingress behind HAProxy, with `replicas` Gateway replicas."""
    with common.serve_app(infra_, overrides={"Gateway": {"num_replicas": replicas}}, extra_env=EXTRA_ENV) as base:
        yield base.replace("http://", "ws://", 1) + "/ws"


# ---------------------------------------------------------------- idle sockets
async def idle_sockets(ws_url: str, pids: dict[str, int], members: list[Member]) -> tuple[int, dict[str, float]]:
    """Open and authenticate one socket per member; (sockets held, RSS bytes added per process).
    Every socket is checked again at the end (a ping answered), so a socket the server queued
    or dropped is not counted as held."""
    import psutil

    processes = {label: psutil.Process(pid) for label, pid in pids.items()}
    warm = [await _open(ws_url, m) for m in members[:20]]  # warm up code paths before the baseline
    await asyncio.sleep(1)
    before = {label: p.memory_info().rss for label, p in processes.items()}
    held = []
    for start in range(20, len(members), 100):  # a socket that fails to open is simply not held
        opened = await asyncio.gather(*[_open(ws_url, m) for m in members[start : start + 100]], return_exceptions=True)
        held += [ws for ws in opened if not isinstance(ws, BaseException)]
    await asyncio.sleep(2)
    added = {label: float(p.memory_info().rss - before[label]) for label, p in processes.items()}
    alive = sum(await asyncio.gather(*[_answers_ping(ws) for ws in held + warm]))
    for ws in held + warm:
        await ws.close()
    return alive, {label: bytes_ / max(1, len(held)) for label, bytes_ in added.items()}


async def _answers_ping(ws) -> int:
    try:
        await ws.send(json.dumps({"event": "ping"}))
        async with asyncio.timeout(30):
            while json.loads(await ws.recv()).get("event") != "pong":
                pass
        return 1
    except Exception:
        return 0


def _gateway_pids() -> list[int]:
    import psutil

    return [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if "ServeReplica:dating:Gateway" in " ".join(p.info["cmdline"] or [])
    ]


def _haproxy_pids() -> list[int]:
    import psutil

    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "haproxy"]


async def _settled_haproxy(steady_s: float = 5.0, timeout_s: float = 90.0) -> int | None:
    """The HAProxy process once Serve stops replacing it (it starts a new one on each routing
    update while replicas come up; sockets stay with the process that accepted them)."""
    seen, since, deadline = None, time.monotonic(), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = _haproxy_pids()
        current = pids[0] if len(pids) == 1 else None
        if current != seen:
            seen, since = current, time.monotonic()
        elif current is not None and time.monotonic() - since >= steady_s:
            return current
        await asyncio.sleep(0.5)
    return None


async def idle_table(infra_: common.Infra, env: dict, count: int) -> Table:
    members = await _members(infra_.database_url, count + 20, 900)
    table = Table(
        "idle authenticated sockets, all on one gateway process",
        ["gateway", "sockets held (answering a ping)", "KB per socket, gateway process", "KB per socket, HAProxy"],
    )
    with uvicorn_server(env) as (url, pid):
        held, per_socket = await idle_sockets(url, {"gateway": pid}, members)
    table.add("bare uvicorn (same app)", f"{held}", per_socket["gateway"] / 1024, "-")
    with serve_server(infra_, replicas=1) as url:
        [pid], haproxy = _gateway_pids(), await _settled_haproxy()
        pids = {"gateway": pid, **({"haproxy": haproxy} if haproxy else {})}
        held, per_socket = await idle_sockets(url, pids, members)
        if haproxy not in _haproxy_pids():  # replaced while measuring: its figure means nothing
            per_socket.pop("haproxy", None)
    table.add(
        "Ray Serve, one Gateway replica behind HAProxy",
        f"{held}",
        per_socket["gateway"] / 1024,
        per_socket["haproxy"] / 1024 if "haproxy" in per_socket else "n/a",
    )
    return table


# ---------------------------------------------------------------- the scenario
def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench chat")
    parser.add_argument("--stack", choices=["uvicorn", "serve", "both"], default="both")
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--rate", type=float, default=500.0, help="messages/s offered, all pairs together")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--replicas", type=int, default=2, help="Gateway replicas for the serve stack")
    parser.add_argument(
        "--idle", type=int, default=2000, help="idle sockets on one gateway process, bare and through Serve (0: skip)"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="also print CPU per process group during each stack's load (from /proc)"
    )
    opts = parser.parse_args(args)
    with infra() as env_infra:
        os.environ.update(EXTRA_ENV)
        return uvloop.run(_run(opts, env_infra))


async def _run(opts, infra_: common.Infra) -> int:
    database_url, env = infra_.database_url, {**infra_.env, **EXTRA_ENV}
    table = Table(
        f"chat: {opts.pairs} pairs, {opts.rate:.0f} msg/s offered for {opts.duration:.0f} s "
        "(websocket send -> recipient socket)",
        ["stack", "sent", "delivered", "delivered/s", "p50 ms", "p99 ms", "ack p99 ms", "errors"],
    )
    stacks = ["relay"] + (["uvicorn", "serve"] if opts.stack == "both" else [opts.stack])
    usage: list[tuple[str, CpuWindow, int]] = []
    for n, stack in enumerate(stacks):
        pairs = await _pairs(database_url, await _members(database_url, 2 * opts.pairs, 100 + n))
        cpu = CpuWindow() if opts.cpu else None
        with _server(stack, infra_, env, opts.replicas) as url:
            result = await chat_load(url, pairs, opts.rate, opts.duration, cpu=cpu)
        if cpu is not None:
            usage.append((stack, cpu, result.sent))
        table.add(
            stack,
            f"{result.sent}",
            f"{result.delivered}",
            result.delivered / result.seconds,
            result.pct(result.latencies_ms, 50),
            result.pct(result.latencies_ms, 99),
            result.pct(result.ack_ms, 99),
            f"{result.errors}",
        )
        print(f"    {stack}: {table.rows[-1]}", flush=True)
    table.print()
    for stack, cpu, sent in usage:
        cpu_table = Table(
            f"CPU during the {stack} load ({cpu.seconds:.1f} s; 100% = one core of two)",
            ["process group", "% of a core", "ms CPU per message"],
        )
        for role, percent, per_message in cpu.rows(sent):
            cpu_table.add(role, percent, f"{per_message:.2f}")
        cpu_table.print()
    if ERROR_CODES:
        print("error events by code:", dict(ERROR_CODES))
    if opts.idle:
        (await idle_table(infra_, env, opts.idle)).print()
    return 0


@contextlib.contextmanager
def _server(stack: str, infra_: common.Infra, env: dict, replicas: int = 2) -> Iterator[str]:
    if stack == "relay":
        with relay_server(env) as url:
            yield url
    elif stack == "uvicorn":
        with uvicorn_server(env) as (url, _):
            yield url
    else:
        with serve_server(infra_, replicas) as url:
            yield url


if __name__ == "__main__":
    if sys.argv[1:2] == ["relay"]:
        uvloop.run(_relay(int(sys.argv[2])))
    else:
        raise SystemExit(main(sys.argv[1:]))
