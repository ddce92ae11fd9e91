"""Keeps stored objects and photo rows consistent when a store or a transaction fails.

Every object that may have to go is first written to `media_deletions` (committed on its own):
- an upload *guards* its keys before storing them, due a while later; if the request dies between
  storing and committing its row, the janitor finds the keys unreferenced and deletes them;
- a photo delete queues its keys in the same transaction as the row delete, so both or neither happen.
The janitor removes a due entry when its key is referenced by a photo row (the upload committed),
or once the store confirms the delete; a failed delete stays queued with back-off, never lost.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deployments.photos.repository import DeletionRepository
from deployments.photos.storage import MediaStorage, StorageError

log = logging.getLogger("app.photos.janitor")
UPLOAD_GUARD_S = 15 * 60  # longer than any upload request can take
MAX_BACKOFF_S = 3600


def backoff_s(attempts: int) -> float:
    return min(MAX_BACKOFF_S, 30 * 2 ** min(attempts, 12))


class MediaJanitor:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], storage: MediaStorage) -> None:
        self.sessionmaker = sessionmaker
        self.storage = storage

    async def guard(self, keys: list[str]) -> list[uuid.UUID]:
        """Record keys about to be stored, before storing them (own transaction)."""
        async with self.sessionmaker() as session, session.begin():
            return await DeletionRepository(session).enqueue(keys, delay_s=UPLOAD_GUARD_S)

    async def release(self, guard_ids: list[uuid.UUID]) -> None:
        """The upload's row is committed: its keys are no longer candidates for deletion."""
        async with self.sessionmaker() as session, session.begin():
            await DeletionRepository(session).drop(guard_ids)

    async def discard(self, keys: list[str], guard_ids: list[uuid.UUID]) -> None:
        """A failed upload: delete its objects now; whatever the store refuses stays queued, due now."""
        failures = []
        for key in keys:
            try:
                await self.storage.delete(key)
            except StorageError as exc:
                failures.append(str(exc))
        async with self.sessionmaker() as session, session.begin():
            repo = DeletionRepository(session)
            if failures:
                await repo.make_due(guard_ids, "; ".join(failures))
            else:
                await repo.drop(guard_ids)

    async def run_due(self, limit: int = 100) -> int:
        """Process due entries once; returns how many were settled (deleted or found referenced)."""
        async with self.sessionmaker() as session, session.begin():
            repo = DeletionRepository(session)
            entries = await repo.claim_due(limit)
            referenced = await repo.referenced([e.storage_key for e in entries])
            settled = []
            for entry in entries:
                if entry.storage_key in referenced:
                    settled.append(entry.id)
                    continue
                try:
                    await self.storage.delete(entry.storage_key)
                    settled.append(entry.id)
                except StorageError as exc:
                    log.warning("media delete failed (attempt %d), will retry: %s", entry.attempts + 1, exc)
                    await repo.record_failure(entry, str(exc), backoff_s(entry.attempts))
            await repo.drop(settled)
            return len(settled)

    async def run_forever(self, interval_s: float) -> None:
        while True:
            try:
                await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly away; the next round retries
                log.exception("media janitor round failed")
            await asyncio.sleep(interval_s)
