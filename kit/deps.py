"""Annotated dependency aliases for what every replica keeps on `app.state`."""

from __future__ import annotations

from typing import Annotated, Any

import redis.asyncio as aioredis
from fastapi import Depends, Request

from kit.redis import RateLimiter
from kit.settings import Settings


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _redis(request: Request) -> aioredis.Redis:
    return request.app.state.redis


async def _limiter(request: Request) -> RateLimiter:
    return request.app.state.limiter


async def _backends(request: Request) -> Any:
    return request.app.state.backends


async def client_ip(request: Request) -> str:
    """The client's real address: `kit.addresses.ClientAddress` (installed by `create_app`) has
    already replaced a trusted proxy's address with the client it forwarded for."""
    return request.client.host if request.client else "unknown"


AppSettings = Annotated[Settings, Depends(_settings)]
Redis = Annotated[aioredis.Redis, Depends(_redis)]
Limiter = Annotated[RateLimiter, Depends(_limiter)]
Backends = Annotated[Any, Depends(_backends)]
ClientIp = Annotated[str, Depends(client_ip)]
