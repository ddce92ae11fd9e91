"""Shared benchmark plumbing: embedded services, the app under bare uvicorn or Ray Serve
(in subprocesses, like production), logins, and a side-by-side table printer.

Every scenario runs its baseline in the same process and on the same data, because this
machine is shared and noisy: compare the columns, not runs from different days.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from deployments.raylocal import (
    LOCAL_RAY_ENV,
    SERVE_ENV,
    deploy_config,
    free_port,
    haproxy_side_ports,
    start_ray_head,
    stop_ray,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
# Limits that would throttle the load generator itself; everything else stays at its default.
BENCH_ENV = {
    "RATE_API_PER_HOUR": "1000000000",
    "RATE_OTP_PER_HOUR": "1000000000",
    "OTP_RESEND_COOLDOWN_S": "0",
    "RATE_LOGIN_FAILURES_PER_HOUR": "1000000000",
    "RATE_MESSAGES_PER_MINUTE": "1000000000",
    "RATE_OTP_PER_IP_PER_HOUR": "1000000000",
    "RATE_OTP_PER_PREFIX_PER_HOUR": "1000000000",
    "RATE_OTP_GLOBAL_PER_HOUR": "1000000000",
    "RATE_FEED_PAGES_PER_HOUR": "1000000000",
    "RATE_LOCATION_UPDATES_PER_HOUR": "1000000000",
    "FREE_DAILY_LIKES": "1000000000",
    "LOG_LEVEL": "WARNING",
    "APP_ENV": "development",
}
SERVE_FAST_INGRESS = SERVE_ENV  # what `make run` sets: direct ingress + HAProxy (and its controller interval)


def wait_healthy(base: str, timeout_s: float = 180, path: str = "/health") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{base}{path}", timeout=2) as r:
                if r.status == 200:
                    return
        time.sleep(0.5)
    raise RuntimeError(f"{base} did not become healthy in {timeout_s} s")


@dataclass
class Infra:
    """Embedded PostgreSQL + Redis for a benchmark run (or the servers in BENCH_DATABASE_URL/BENCH_REDIS_URL)."""

    database_url: str
    redis_url: str
    outbox: Path
    _services: object = None

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **BENCH_ENV,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SMS_OUTBOX": str(self.outbox),
            "DATA_DIR": str(BENCH_DIR),
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }


@contextlib.contextmanager
def infra(fresh: bool = True) -> Iterator[Infra]:
    from kit.embedded import ensure_services
    from kit.migrate import upgrade

    if fresh and BENCH_DIR.exists():
        shutil.rmtree(BENCH_DIR)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    services = ensure_services(
        BENCH_DIR, os.environ.get("BENCH_DATABASE_URL", ""), os.environ.get("BENCH_REDIS_URL", "")
    )
    try:
        upgrade(services.database_url)
        yield Infra(services.database_url, services.redis_url, BENCH_DIR / "sms.jsonl", services)
    finally:
        services.stop()


@contextlib.contextmanager
def uvicorn_app(
    infra: Infra,
    port: int | None = None,
    extra_env: dict | None = None,
    factory: str = "deployments.app:create_app",
    health: str = "/health",
) -> Iterator[str]:
    """The same FastAPI app on bare uvicorn (one process, in-process backends): the baseline."""
    port = port or free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, env={**infra.env, **(extra_env or {})}, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, 60, health)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def reference_app(infra: Infra, extra_env: dict | None = None) -> contextlib.AbstractContextManager[str]:
    """`bench.reference` started exactly like the baseline (bare uvicorn, one process)."""
    return uvicorn_app(infra, extra_env=extra_env, factory="bench.reference:create_app", health="/docs")


@contextlib.contextmanager
def serve_app(
    infra: Infra,
    fast_ingress: bool = True,
    overrides: dict | None = None,
    extra_env: dict | None = None,
    replica_env: dict | None = None,
) -> Iterator[str]:
    """The app on a fresh local Ray via `serve deploy serve_config.yaml` (optionally with
    per-deployment overrides such as {"Gateway": {"num_replicas": 1}}, and `replica_env`
    replacing the env vars serve_config.yaml gives the replicas)."""
    port = free_port()
    env = {
        **infra.env,
        **LOCAL_RAY_ENV,
        **(SERVE_FAST_INGRESS if fast_ingress else {}),
        **haproxy_side_ports(),
        **(extra_env or {}),
    }
    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    config["http_options"].update(host="127.0.0.1", port=port)
    if replica_env is not None:
        config["applications"][0]["runtime_env"] = {"env_vars": replica_env}
    for deployment in config["applications"][0]["deployments"]:
        deployment.update((overrides or {}).get(deployment["name"], {}))
    path = BENCH_DIR / f"serve_config.{port}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    dashboard_port = free_port()
    head = start_ray_head(env, dashboard_port, 4)
    base = f"http://127.0.0.1:{port}"
    try:
        deploy_config(Path(sys.executable).parent / "serve", path, env, dashboard_port)
        wait_healthy(base, 240)
        yield base
    finally:
        stop_ray(head)


def http_json(method: str, url: str, body: dict | None = None, token: str | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def login(base: str, infra: Infra, phone: str) -> dict:
    """OTP login through the API; the code is read from the console provider's outbox."""
    http_json("POST", f"{base}/api/v1/auth/send-otp", {"phone_number": phone})
    lines = [json.loads(x) for x in infra.outbox.read_text().splitlines()]
    body = [m["body"] for m in lines if m["to"] == phone][-1]
    code = next(w for w in body.replace(".", " ").split() if w.isdigit() and len(w) == 6)
    return http_json("POST", f"{base}/api/v1/auth/verify-otp", {"phone_number": phone, "otp": code})


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def add(self, *cells) -> None:
        self.rows.append([c if isinstance(c, str) else f"{c:,.1f}" for c in cells])

    def print(self) -> None:
        widths = [max(len(str(x)) for x in col) for col in zip(self.columns, *self.rows)]
        print(f"\n## {self.title}")
        print("| " + " | ".join(c.ljust(w) for c, w in zip(self.columns, widths)) + " |")
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for row in self.rows:
            print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
        sys.stdout.flush()
