"""/health: is every dependency of this replica reachable?"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


async def _database(request: Request) -> str:
    async with request.app.state.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return "up"


async def _redis(request: Request) -> str:
    await request.app.state.redis.ping()
    return "up"


async def _probe(check, request: Request) -> str:
    try:
        return await asyncio.wait_for(check(request), timeout=2.0)
    except Exception:  # any failure means "down"; the reason is not the client's business
        return "down"


@router.get("/health", responses={503: {"description": "A dependency is down"}})
async def health(request: Request) -> JSONResponse:
    """Liveness and dependencies: 200 `healthy`, or 503 `unhealthy` naming what is down."""
    database, redis = await asyncio.gather(_probe(_database, request), _probe(_redis, request))
    services = {"database": database, "redis": redis, "backends": request.app.state.backends.kind}
    healthy = database == "up" and redis == "up"
    return JSONResponse({"status": "healthy" if healthy else "unhealthy", "services": services},
                        status_code=200 if healthy else 503)
