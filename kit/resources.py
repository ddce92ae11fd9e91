"""What one replica holds for its whole life, typed.

`create_app` opens one `Resources` when the app starts and stores it once (`app.state.resources`,
read only by `resources_of`). Routes reach it through `Annotated` dependencies: `kit.deps` for the
shared infrastructure below, each domain's `lifecycle.py` for the part it owns. A domain's part is
one typed object that its start-up hook adds (`resources.add(part)`) and that anything reads
back by its class (`resources.get(Photos)`), so kit never needs to know the domains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kit.db import LazyPool, make_engine, make_sessionmaker
from kit.redis import RateLimiter, make_redis
from kit.settings import Settings

T = TypeVar("T")


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    pg: LazyPool  # raw asyncpg, for the few statements that skip SQLAlchemy (the socket's message send)
    redis: aioredis.Redis
    limiter: RateLimiter
    parts: dict[type, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings) -> Resources:
        """Connections are opened lazily, on first use: this only builds the clients."""
        engine = make_engine(settings.database_url, settings.db_pool_size)
        redis = make_redis(settings.redis_url)
        return cls(
            settings,
            engine,
            make_sessionmaker(engine),
            LazyPool(settings.database_url, max_size=settings.db_pool_size),
            redis,
            RateLimiter(redis),
        )

    def add(self, part: T) -> T:
        """Keep a domain's part, found again by its class."""
        self.parts[type(part)] = part
        return part

    def get(self, kind: type[T]) -> T:
        try:
            return self.parts[kind]
        except KeyError:
            raise LookupError(f"{kind.__name__} was not started on this replica (see deployments/app.py)") from None

    async def close(self) -> None:
        await self.redis.aclose()
        await self.pg.close()
        await self.engine.dispose()


def resources_of(app: Any) -> Resources:
    """The running app's resources (a FastAPI app, or anything with its `state`)."""
    return app.state.resources
