"""A small HTTP/1.1 keep-alive load generator (wrk-like) that runs in its own processes.

Raw asyncio streams with pre-built requests keep the generator cheap next to the server
under test; `processes` > 1 spreads it over cores. Latencies are per request, in ms.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: np.ndarray

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if len(self.latencies_ms) else float("nan")


def _request_bytes(method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return parts.hostname, parts.port or 80, ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        lname = name.strip().lower()
        if lname == b"content-length":
            length = int(value.strip())
        elif lname == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _connection(host, port, requests: list[bytes], deadline: float, out: list, errors: list) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.perf_counter() < deadline:
            payload = requests[i % len(requests)]
            i += 1
            start = time.perf_counter()
            writer.write(payload)
            status = await _read_response(reader)
            out.append((time.perf_counter() - start) * 1000)
            if status >= 400:
                errors.append(status)
    except (ConnectionError, asyncio.IncompleteReadError):
        errors.append(-1)
    finally:
        writer.close()


def _worker(spec: dict, queue: mp.Queue) -> None:
    async def main() -> None:
        reqs = [_request_bytes(spec["method"], spec["url"], h, spec["body"]) for h in spec["headers_list"]]
        host, port = reqs[0][0], reqs[0][1]
        payloads = [r[2] for r in reqs]
        latencies: list[float] = []
        errors: list[int] = []
        start = time.perf_counter()
        deadline = start + spec["duration"]
        await asyncio.gather(
            *[
                _connection(host, port, payloads[c :: spec["connections"]] or payloads, deadline, latencies, errors)
                for c in range(spec["connections"])
            ]
        )
        queue.put((latencies, len(errors), time.perf_counter() - start))

    asyncio.run(main())


def run_load(
    url: str,
    *,
    duration: float = 10.0,
    connections: int = 32,
    processes: int = 1,
    method: str = "GET",
    headers_list: list[dict[str, str]] | None = None,
    body: bytes = b"",
) -> LoadResult:
    """Hammer `url` for `duration` seconds; each connection cycles through `headers_list`
    (e.g. one Authorization header per user)."""
    headers_list = headers_list or [{}]
    per_proc = max(1, connections // processes)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    workers = [
        ctx.Process(
            target=_worker,
            args=(
                {
                    "url": url,
                    "duration": duration,
                    "connections": per_proc,
                    "method": method,
                    "headers_list": headers_list,
                    "body": body,
                },
                queue,
            ),
        )
        for _ in range(processes)
    ]
    for w in workers:
        w.start()
    results = [queue.get(timeout=duration + 120) for _ in workers]
    for w in workers:
        w.join()
    latencies = np.array([x for r in results for x in r[0]])
    return LoadResult(len(latencies), sum(r[1] for r in results), max(r[2] for r in results), latencies)


def merge(parts: list[LoadResult]) -> LoadResult:
    """Slices of one measurement (e.g. alternating with another server) as one result."""
    return LoadResult(
        sum(p.requests for p in parts),
        sum(p.errors for p in parts),
        sum(p.seconds for p in parts),
        np.concatenate([p.latencies_ms for p in parts]),
    )


def run_alternating(
    bases: list[str], path: str, headers: list[dict], connections: int, duration: float, rounds: int
) -> list[LoadResult]:
    """Measure each base in `rounds` alternating slices of duration / rounds (after a warm-up), the
    slices of each merged: on a shared machine the load of others moves within seconds, so
    back-to-back runs would mostly measure that."""
    for base in bases:  # warm-up
        run_load(f"{base}{path}", duration=2, connections=connections, headers_list=headers)
    slices: list[list[LoadResult]] = [[] for _ in bases]
    for _ in range(rounds):
        for i, base in enumerate(bases):
            slices[i].append(
                run_load(f"{base}{path}", duration=duration / rounds, connections=connections, headers_list=headers)
            )
    return [merge(parts) for parts in slices]
