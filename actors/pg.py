"""A small asyncpg pool opened on first use, shared by the actors' cache loads.

Shards and rankers load from PostgreSQL lazily and often (one user or match at a time): a
fresh connection per load costs PostgreSQL a backend process each time, which showed up as
the shard's main cost in the feed benchmark. The gateway's websocket send uses one too.

Its users run single statements and never change session state (no SET, LISTEN, cursors or
advisory locks), so a released connection skips asyncpg's default reset query: that was one
more round trip per statement. An open transaction is still rolled back by asyncpg itself.
"""

from __future__ import annotations

import asyncio

from kit.db import sync_url


class LazyPool:
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

                    self._pool = await asyncpg.create_pool(self.database_url, min_size=0, max_size=self.max_size,
                                                           max_inactive_connection_lifetime=60, reset=_keep)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


async def _keep(connection) -> None:
    """Release without a reset query (see the module docstring)."""
