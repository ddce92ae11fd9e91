"""The account domain's part of a replica: the purge loop (every PURGE_INTERVAL_S; 0 turns it off).

Every gateway replica runs the loop; a PostgreSQL advisory lock lets one purge run at a time
across the cluster, and the others skip that round. The loop is a background task: it never runs
on a request's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass

from deployments.account.service import Purger
from deployments.auth.lifecycle import AuthParts
from deployments.auth.sms import make_sms_provider
from deployments.backends import Backends
from deployments.photos.lifecycle import Photos
from deployments.photos.storage import make_storage
from kit.db import make_engine, make_sessionmaker
from kit.resources import Resources
from kit.settings import Settings

log = logging.getLogger("app.account")
FIRST_ROUND_S = 60.0  # start-up is busy enough; the first round can wait


@dataclass
class AccountParts:
    purge_task: asyncio.Task | None = None


def purger(resources: Resources) -> Purger:
    """A purge wired to this replica's store, SMS provider and shard caches."""
    backends = resources.get(Backends)

    async def forget(user_ids: list[uuid.UUID]) -> None:
        for user_id in user_ids:
            await backends.user_shards.for_key(str(user_id)).forget.remote(str(user_id))

    return Purger(
        resources.settings,
        resources.engine,
        resources.sessionmaker,
        resources.get(Photos).storage,
        resources.get(AuthParts).sms,
        forget=forget,
    )


async def standalone_purge(settings: Settings) -> dict[str, int] | None:
    """One purge outside the app (`python -m deployments.cli purge`): its own engine, store and SMS
    provider; no shard caches to tell (they reload from PostgreSQL)."""
    engine = make_engine(settings.database_url, 2)
    storage = make_storage(settings)
    try:
        return await Purger(settings, engine, make_sessionmaker(engine), storage, make_sms_provider(settings)).run()
    finally:
        await storage.close()
        await engine.dispose()


async def _purge_loop(resources: Resources, interval_s: float) -> None:
    await asyncio.sleep(min(FIRST_ROUND_S, interval_s))
    while True:
        try:
            await purger(resources).run()
        except asyncio.CancelledError:
            raise
        except Exception:  # the database or the store may be briefly away; the next round retries
            log.exception("purge round failed")
        await asyncio.sleep(interval_s)


async def on_startup(resources: Resources) -> None:
    parts = resources.add(AccountParts())
    interval = resources.settings.purge_interval_s
    if interval > 0:
        parts.purge_task = asyncio.create_task(_purge_loop(resources, interval), name="account-purge")


async def on_shutdown(resources: Resources) -> None:
    task = resources.get(AccountParts).purge_task
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
