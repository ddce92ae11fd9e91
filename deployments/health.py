"""Probes: /livez (the process answers), /readyz (every dependency answers), /health (the seed's).

`readiness(app)` is also the Gateway's Serve `check_health` (deployments/serve_app.py), so Serve
and a container platform judge a replica by the same check.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from kit.errors import envelope

router = APIRouter(tags=["health"])

# Each probe's own limit: a dependency that takes longer is as good as down for a request.
PROBE_TIMEOUT_S = 2.0


async def _database(app: FastAPI) -> None:
    async with app.state.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _redis(app: FastAPI) -> None:
    await app.state.redis.ping()


async def _ping(handle: Any) -> None:
    await handle.ping.remote()


async def _shards(app: FastAPI) -> None:
    backends = app.state.backends
    await asyncio.gather(*(_ping(h) for h in [*backends.user_shards.handles, *backends.match_shards.handles]))


async def _ranker(app: FastAPI) -> None:
    await _ping(app.state.backends.ranker)


READINESS_CHECKS = {"database": _database, "redis": _redis, "shards": _shards, "ranker": _ranker}


async def _probe(check, app: FastAPI, timeout_s: float) -> str:
    try:
        await asyncio.wait_for(check(app), timeout=timeout_s)
    except Exception:  # any failure means "down"; the reason is not the client's business
        return "down"
    return "up"


async def probe_all(app: FastAPI, checks: dict, timeout_s: float = PROBE_TIMEOUT_S) -> dict[str, str]:
    """Every check at once, each `up` or `down` within `timeout_s`."""
    results = await asyncio.gather(*(_probe(check, app, timeout_s) for check in checks.values()))
    return dict(zip(checks, results))


async def readiness(app: FastAPI, timeout_s: float = PROBE_TIMEOUT_S) -> list[str]:
    """Names of the dependencies this replica cannot reach (database, redis, shards, ranker)."""
    return [name for name, state in (await probe_all(app, READINESS_CHECKS, timeout_s)).items() if state != "up"]


@router.get("/livez")
async def livez() -> dict:
    """Liveness: the process answers; no dependency is consulted."""
    return {"success": True, "status": "alive"}


@router.get("/readyz", responses={503: {"description": "A dependency is unreachable"}})
async def readyz(request: Request) -> JSONResponse:
    """Readiness: database, Redis, the shards and the ranker answer; 503 `not_ready` naming what does not."""
    failed = await readiness(request.app)
    if failed:
        return envelope("not_ready", "Not ready: unreachable " + ", ".join(failed), 503,
                        headers={"Retry-After": "5"}, unreachable=failed)
    return JSONResponse({"success": True, "status": "ready"})


@router.get("/health", responses={503: {"description": "A dependency is down"}})
async def health(request: Request) -> JSONResponse:
    """Liveness and dependencies: 200 `healthy`, or 503 `unhealthy` naming what is down."""
    states = await probe_all(request.app, {"database": _database, "redis": _redis})
    services = {**states, "backends": request.app.state.backends.kind}
    healthy = all(state == "up" for state in states.values())
    return JSONResponse({"status": "healthy" if healthy else "unhealthy", "services": services},
                        status_code=200 if healthy else 503)
