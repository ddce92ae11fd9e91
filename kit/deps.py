"""Annotated dependencies for what every replica holds (`kit.resources.Resources`), and `part`,
which each domain uses for the typed part it keeps there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import redis.asyncio as aioredis
from fastapi import Depends
from fastapi.requests import HTTPConnection

from kit.redis import RateLimiter
from kit.resources import Resources, resources_of
from kit.settings import Settings

T = TypeVar("T")


# Every dependency here is `async def`, though none awaits: FastAPI runs a plain `def` dependency
# in its thread pool, a thread hop per dependency per request.
async def _resources(connection: HTTPConnection) -> Resources:
    return resources_of(connection.app)


AppResources = Annotated[Resources, Depends(_resources)]


async def _settings(resources: AppResources) -> Settings:
    return resources.settings


async def _redis(resources: AppResources) -> aioredis.Redis:
    return resources.redis


async def _limiter(resources: AppResources) -> RateLimiter:
    return resources.limiter


def part(kind: type[T]) -> Callable[[HTTPConnection], Awaitable[T]]:
    """A dependency answering the domain part `kind` (`Annotated[Kind, Depends(part(Kind))]`)."""

    async def dependency(connection: HTTPConnection) -> T:
        return resources_of(connection.app).get(kind)

    dependency.__name__ = f"part_{kind.__name__}"
    return dependency


async def client_ip(connection: HTTPConnection) -> str:
    """The client's real address: `kit.addresses.ClientAddress` (installed by `create_app`) has
    already replaced a trusted proxy's address with the client it forwarded for."""
    return connection.client.host if connection.client else "unknown"


AppSettings = Annotated[Settings, Depends(_settings)]
Redis = Annotated[aioredis.Redis, Depends(_redis)]
Limiter = Annotated[RateLimiter, Depends(_limiter)]
ClientIp = Annotated[str, Depends(client_ip)]
