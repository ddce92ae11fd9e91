"""Database engine and the request's unit of work.

Services never commit: the `Session` dependency commits when the route returns and
rolls back when it raises, so a failed request leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from kit.errors import AppError


def async_url(url: str) -> str:
    """Accept the usual `postgresql://` spelling and pick the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    return url


def sync_url(url: str) -> str:
    return async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    # pre-ping replaces connections that died with a PostgreSQL restart instead of failing a request
    return create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
        pool_recycle=1800,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except AppError as exc:
            if exc.commit:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


# scope="function": commit before the response is sent, so an acknowledged write is durable.
Session = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]
