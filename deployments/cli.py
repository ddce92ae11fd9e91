"""Command line: `python -m deployments.cli run | migrate | deploy | moderator PHONE | purge`.

`run` is what `make run` calls: embedded PostgreSQL/Redis when no URLs are set, migrations,
a local Ray, `serve deploy serve_config.yaml`, then waits; Ctrl-C or SIGTERM stops all of it.
The Ray process management lives in `deployments.raylocal`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from deployments.raylocal import (
    LOCAL_RAY_ENV,
    ROOT,
    SERVE_ENV,
    deploy_config,
    derived_serve_config,
    free_port,
    haproxy_side_ports,
    ray_bin,
    start_ray_head,
    stop_ray,
    wait_healthy,
)
from kit.errors import AppError
from kit.security import mask_phone
from kit.settings import Settings


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        print("Configuration error:", file=sys.stderr)
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            print(f"  {name}: {err['msg']}", file=sys.stderr)
        print("See the Settings table in README.md.", file=sys.stderr)
        raise SystemExit(2) from None


def run(_: argparse.Namespace) -> int:
    from kit.embedded import ensure_services
    from kit.migrate import upgrade

    settings = load_settings()
    if not settings.database_url or not settings.redis_url:
        step(
            f"starting embedded {'PostgreSQL ' if not settings.database_url else ''}"
            f"{'Redis ' if not settings.redis_url else ''}under {settings.data_dir}/"
        )
    services = ensure_services(settings.data_dir, settings.database_url, settings.redis_url)
    env = {
        **os.environ,
        **SERVE_ENV,
        **LOCAL_RAY_ENV,
        **haproxy_side_ports(),
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    stopping = False
    head = None

    def request_stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        step("applying database migrations")
        upgrade(services.database_url)
        step("starting a local Ray")
        dashboard_port = free_port()
        head = start_ray_head(env, dashboard_port, max(4, os.cpu_count() or 2))
        step("deploying serve_config.yaml")
        config = derived_serve_config(settings, settings.data_dir / "serve_config.local.yaml")
        deploy_config(Path(ray_bin("serve")), config, env, dashboard_port)
        base = f"http://{settings.host}:{settings.port}"
        if not wait_healthy(f"{base}/health", 180):
            print(
                "The app did not become healthy in 180 s; see `serve status` and /tmp/ray/session_latest/logs",
                file=sys.stderr,
            )
            return 1
        print(
            f"\nReady on {base}\n  API docs:     {base}/docs\n  Health:       {base}/health\n"
            f"  Websocket:    ws://{settings.host}:{settings.port}/ws\n  Ray dashboard: http://127.0.0.1:{dashboard_port}\n"
            f"Press Ctrl-C to stop.",
            flush=True,
        )
        while not stopping:
            time.sleep(0.5)
        return 0
    finally:
        step("stopping Ray, PostgreSQL and Redis (Serve drains first: up to a minute)")
        stop_ray(head)
        services.stop()


def migrate(_: argparse.Namespace) -> int:
    from kit.migrate import upgrade

    settings = load_settings()
    if not settings.database_url:
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    upgrade(settings.database_url)
    step("database is at the latest migration")
    return 0


def deploy(args: argparse.Namespace) -> int:
    """What cluster.yaml deploys with, on the head: serve_config.yaml bound to HOST:PORT. Settings
    decide the address, so a reachable HOST needs APP_ENV=production (or ALLOW_INSECURE_DEV=1)
    before anything is deployed."""
    settings = load_settings()
    config = derived_serve_config(settings, settings.data_dir / "serve_config.deploy.yaml")
    try:
        deploy_config(Path(ray_bin("serve")), config, dict(os.environ), args.dashboard_port, attempts=3)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    step(f"deployed serve_config.yaml on {settings.host}:{settings.port}")
    return 0


def moderator(args: argparse.Namespace) -> int:
    from deployments.safety.cli import grant_moderator
    from kit.embedded import ensure_services

    settings = load_settings()
    services = ensure_services(settings.data_dir, settings.database_url, settings.redis_url)
    try:
        user_id = asyncio.run(grant_moderator(services.database_url, args.phone))
        step(f"{mask_phone(args.phone)} is now a moderator (user {user_id})")
        return 0
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        services.stop()


def purge(_: argparse.Namespace) -> int:
    """One purge round (deployments/account), for operators who run it from cron; prints the counts."""
    from deployments.account.lifecycle import standalone_purge
    from kit.embedded import ensure_services

    settings = load_settings()
    services = ensure_services(settings.data_dir, settings.database_url, settings.redis_url)
    try:
        counts = asyncio.run(standalone_purge(settings.model_copy(update={"database_url": services.database_url})))
    finally:
        services.stop()
    if counts is None:
        step("another purge is running; nothing done")
        return 0
    step("purge erased: " + ", ".join(f"{name}={n}" for name, n in counts.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deployments.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the whole stack locally (make run)").set_defaults(func=run)
    commands.add_parser("migrate", help="apply database migrations to DATABASE_URL").set_defaults(func=migrate)
    cluster = commands.add_parser("deploy", help="serve deploy serve_config.yaml on HOST:PORT (cluster.yaml)")
    cluster.add_argument("--dashboard-port", type=int, default=8265)
    cluster.set_defaults(func=deploy)
    grant = commands.add_parser("moderator", help="give the account with this phone number the moderator role")
    grant.add_argument("phone")
    grant.set_defaults(func=moderator)
    commands.add_parser(
        "purge",
        help="erase what is due (deleted and inactive accounts, expired codes and "
        "sessions, old reports, orphaned media); for cron",
    ).set_defaults(func=purge)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
