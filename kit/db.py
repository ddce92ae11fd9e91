"""Database engine, the request's unit of work, and the small raw pool (`LazyPool`).

Services never commit: the `Session` dependency commits when the route returns and
rolls back when it raises, so a failed request leaves nothing half-written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from kit.errors import AppError
from kit.security import mask_phones_in

log = logging.getLogger("app.db")


def async_url(url: str) -> str:
    """Accept the usual `postgresql://` spelling and pick the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def sync_url(url: str) -> str:
    return async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


def make_engine(url: str, pool_size: int = 10, ping_after_idle_s: float = 1.0) -> AsyncEngine:
    # hide_parameters: a failed statement's error (and so its traceback) never lists the bound
    # values, which are phone numbers, tokens and message texts.
    engine = create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800, hide_parameters=True
    )
    _ping_idle_connections(engine, ping_after_idle_s)
    mask_phones_in_errors(engine)
    return engine


def mask_phones_in_errors(engine: AsyncEngine) -> None:
    """The driver and the server still quote values in their own messages (asyncpg: "invalid input
    for query argument $1: '+1202...'"); mask phone numbers there too, in the error and its causes."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _mask(context) -> None:
        original = context.original_exception
        for error in (context.sqlalchemy_exception, original, original.__cause__, original.__context__):
            if error is not None:
                error.args = tuple(mask_phones_in(a) if isinstance(a, str) else a for a in error.args)


def _ping_idle_connections(engine: AsyncEngine, idle_s: float) -> None:
    """Pre-ping, but only connections that sat idle for `idle_s`: a PostgreSQL restart or
    failover is noticed and the dead connection replaced before a request uses it, while a
    busy pool does not pay a round trip per checkout (one showed up in chat replicas' profiles).
    A disconnect met in use still invalidates the whole pool (SQLAlchemy's own handling)."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _returned(dbapi_connection, record) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _check(dbapi_connection, record, proxy) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_s:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # any failure: let the pool retry with a fresh connection
            raise DisconnectionError("idle connection is dead") from exc


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def after_commit(session: AsyncSession, action: Callable[..., Awaitable[Any]], *args: Any) -> None:
    """Run `await action(*args)` once the request's unit of work has committed, also when the
    request ends in an error that commits (`AppError.commit`); never after a rollback. For
    announcements that must not precede the change they announce (a revoked session), and that
    must happen on error paths too, where FastAPI's background tasks do not run."""
    session.info.setdefault("after_commit", []).append((action, args))


async def _run_after_commit(session: AsyncSession) -> None:
    for action, args in session.info.pop("after_commit", []):
        try:
            await action(*args)
        except Exception:  # the commit stands; an announcement failing must not turn it into a 500
            log.exception("after-commit action %s failed", getattr(action, "__qualname__", action))


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    # `kit.resources.Resources`, stored once by create_app (not imported: kit.resources imports this module).
    async with request.app.state.resources.sessionmaker() as session:
        try:
            yield session
        except AppError as exc:
            if exc.commit:
                await session.commit()
                await _run_after_commit(session)
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            # A request that ran no ORM statement (raw reads on the pool) has nothing to commit;
            # committing anyway costs the ORM's transaction bookkeeping on every such request.
            if session.in_transaction() or session.new or session.dirty or session.deleted:
                await session.commit()
            await _run_after_commit(session)


# scope="function": commit before the response is sent, so an acknowledged write is durable.
Session = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]


class LazyPool:
    """A small asyncpg pool opened on first use: the actors' cache loads and the socket's send.

    Shards and rankers load from PostgreSQL lazily and often (one user or match at a time): a
    fresh connection per load costs PostgreSQL a backend process each time, which showed up as
    the shard's main cost in the feed benchmark.

    Its users run single statements and never change session state (no SET, LISTEN, cursors or
    advisory locks), so a released connection skips asyncpg's default reset query: that was one
    more round trip per statement. An open transaction is still rolled back by asyncpg itself.
    """

    def __init__(self, database_url: str, max_size: int = 4) -> None:
        self.database_url = sync_url(database_url) if database_url else ""
        self.max_size = max_size
        self._pool = None
        self._lock: asyncio.Lock | None = None

    async def get(self):
        if self._pool is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._pool is None:
                    import asyncpg

                    self._pool = await asyncpg.create_pool(
                        self.database_url,
                        min_size=0,
                        max_size=self.max_size,
                        max_inactive_connection_lifetime=60,
                        reset=_keep,
                    )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


async def _keep(connection) -> None:
    """Release without a reset query (see `LazyPool`)."""


class Row(asyncpg.Record):
    """An asyncpg row whose columns also read as attributes, as code written for ORM rows reads them."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


async def fetch_raw(session: AsyncSession, pg: LazyPool | None, sql: str, *args: Any) -> list[Row]:
    """Run one raw asyncpg statement (`$1` parameters) for a hot read path: on the raw pool, with no
    transaction and none of the ORM's per-statement work, while the request's unit of work has not
    begun; inside it (on its connection, so it sees the request's own writes) once it has."""
    if pg is not None and not session.in_transaction():
        pool = await pg.get()
        return await pool.fetch(sql, *args, record_class=Row)
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    if raw is None:
        raise RuntimeError("the unit of work's connection is closed")
    return await raw.fetch(sql, *args, record_class=Row)
