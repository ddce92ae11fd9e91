"""Probes: /livez (the process answers), /readyz (every dependency answers), /health (the seed's).

`readiness(resources)` is also the Gateway's Serve `check_health` (deployments/serve_app.py), so Serve
and a container platform judge a replica by the same check.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from deployments.backends import Backends
from kit.deps import AppResources
from kit.errors import envelope, error_responses
from kit.resources import Resources

router = APIRouter(tags=["health"])

# Each probe's own limit: a dependency that takes longer is as good as down for a request.
PROBE_TIMEOUT_S = 2.0


async def _database(resources: Resources) -> None:
    async with resources.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _redis(resources: Resources) -> None:
    await resources.redis.ping()


async def _ping(handle: Any) -> None:
    await handle.ping.remote()


async def _shards(resources: Resources) -> None:
    backends = resources.get(Backends)
    await asyncio.gather(*(_ping(h) for h in [*backends.user_shards.handles, *backends.match_shards.handles]))


async def _ranker(resources: Resources) -> None:
    await _ping(resources.get(Backends).ranker)


READINESS_CHECKS = {"database": _database, "redis": _redis, "shards": _shards, "ranker": _ranker}


async def _probe(check, resources: Resources, timeout_s: float) -> str:
    try:
        await asyncio.wait_for(check(resources), timeout=timeout_s)
    except Exception:  # any failure means "down"; the reason is not the client's business
        return "down"
    return "up"


async def probe_all(resources: Resources, checks: dict, timeout_s: float = PROBE_TIMEOUT_S) -> dict[str, str]:
    """Every check at once, each `up` or `down` within `timeout_s`."""
    results = await asyncio.gather(*(_probe(check, resources, timeout_s) for check in checks.values()))
    return dict(zip(checks, results))


async def readiness(resources: Resources, timeout_s: float = PROBE_TIMEOUT_S) -> list[str]:
    """Names of the dependencies this replica cannot reach (database, redis, shards, ranker)."""
    return [name for name, state in (await probe_all(resources, READINESS_CHECKS, timeout_s)).items() if state != "up"]


class Probe(BaseModel):
    success: bool = True
    status: Literal["alive", "ready"]


class Health(BaseModel):
    status: Literal["healthy", "unhealthy"]
    services: dict[str, str] = Field(description="database and redis: up or down; backends: local or ray")


@router.get("/livez", response_model=Probe)
async def livez() -> dict:
    """Liveness: the process answers; no dependency is consulted."""
    return {"success": True, "status": "alive"}


@router.get(
    "/readyz",
    response_model=Probe,
    responses=error_responses((503, "not_ready", "a dependency is unreachable (`error.unreachable` names them)")),
)
async def readyz(resources: AppResources) -> JSONResponse:
    """Readiness: database, Redis, the shards and the ranker answer; 503 `not_ready` naming what does not."""
    failed = await readiness(resources)
    if failed:
        return envelope(
            "not_ready",
            "Not ready: unreachable " + ", ".join(failed),
            503,
            headers={"Retry-After": "5"},
            unreachable=failed,
        )
    return JSONResponse({"success": True, "status": "ready"})


@router.get("/health", response_model=Health, responses={503: {"model": Health, "description": "A dependency is down"}})
async def health(resources: AppResources) -> JSONResponse:
    """Liveness and dependencies: 200 `healthy`, or 503 `unhealthy` naming what is down."""
    states = await probe_all(resources, {"database": _database, "redis": _redis})
    services = {**states, "backends": resources.get(Backends).kind}
    healthy = all(state == "up" for state in states.values())
    return JSONResponse(
        {"status": "healthy" if healthy else "unhealthy", "services": services}, status_code=200 if healthy else 503
    )
