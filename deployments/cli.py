"""Command line: `python -m deployments.cli run | migrate | moderator PHONE`.

`run` is what `make run` calls: embedded PostgreSQL/Redis when no URLs are set, migrations,
a local Ray, `serve deploy serve_config.yaml`, then waits; Ctrl-C or SIGTERM stops all of it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml
from pydantic import ValidationError

from kit.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# Measured in bench/RESULTS.md: direct ingress + HAProxy is several times faster than the default proxy.
SERVE_ENV = {"RAY_SERVE_ENABLE_DIRECT_INGRESS": "1", "RAY_SERVE_ENABLE_HA_PROXY": "1"}


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


def derived_serve_config(settings: Settings, path: Path) -> Path:
    """serve_config.yaml with HOST/PORT applied; everything else is taken as written."""
    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    config.setdefault("http_options", {}).update(host=settings.host, port=settings.port)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def wait_healthy(url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(1)
    return False


def ray_bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def run(_: argparse.Namespace) -> int:
    from kit.embedded import ensure_services
    from kit.migrate import upgrade

    settings = load_settings()
    if not settings.database_url or not settings.redis_url:
        step(f"starting embedded {'PostgreSQL ' if not settings.database_url else ''}"
             f"{'Redis ' if not settings.redis_url else ''}under {settings.data_dir}/")
    services = ensure_services(settings.data_dir, settings.database_url, settings.redis_url)
    env = {**os.environ, **SERVE_ENV, "DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url,
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    stopping = False

    def request_stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        step("applying database migrations")
        upgrade(services.database_url)
        step("starting a local Ray")
        subprocess.run([ray_bin("ray"), "start", "--head", "--disable-usage-stats", "--include-dashboard=true", "--port=0",
                        f"--num-cpus={max(4, os.cpu_count() or 2)}"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        step("deploying serve_config.yaml")
        config = derived_serve_config(settings, settings.data_dir / "serve_config.local.yaml")
        subprocess.run([ray_bin("serve"), "deploy", str(config)], env=env, check=True)
        base = f"http://{settings.host}:{settings.port}"
        if not wait_healthy(f"{base}/health", 180):
            print("The app did not become healthy in 180 s; see `serve status` and /tmp/ray/session_latest/logs",
                  file=sys.stderr)
            return 1
        print(f"\nReady on {base}\n  API docs:     {base}/docs\n  Health:       {base}/health\n"
              f"  Websocket:    ws://{settings.host}:{settings.port}/ws\n  Ray dashboard: http://127.0.0.1:8265\n"
              f"Press Ctrl-C to stop.", flush=True)
        while not stopping:
            time.sleep(0.5)
        return 0
    finally:
        step("stopping Ray, PostgreSQL and Redis")
        subprocess.run([ray_bin("ray"), "stop", "--force"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
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


def moderator(args: argparse.Namespace) -> int:
    from deployments.safety.cli import grant_moderator
    from kit.embedded import ensure_services

    settings = load_settings()
    services = ensure_services(settings.data_dir, settings.database_url, settings.redis_url)
    try:
        result = asyncio.run(grant_moderator(services.database_url, args.phone))
        print(result)
        return 0
    finally:
        services.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deployments.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the whole stack locally (make run)").set_defaults(func=run)
    commands.add_parser("migrate", help="apply database migrations to DATABASE_URL").set_defaults(func=migrate)
    grant = commands.add_parser("moderator", help="give the account with this phone number the moderator role")
    grant.add_argument("phone")
    grant.set_defaults(func=moderator)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
