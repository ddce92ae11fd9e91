"""All SQL of profile photos and of the media deletion queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import MediaDeletion, ProfilePhoto


class PhotoRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_user(self, user_id: uuid.UUID) -> None:
        """Serialize photo changes of one user until the transaction ends (count, primary, order)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"profile-photos:{user_id}"}
        )

    async def of_user(self, user_id: uuid.UUID) -> list[ProfilePhoto]:
        result = await self.session.execute(
            select(ProfilePhoto)
            .where(ProfilePhoto.user_id == user_id)
            .order_by(ProfilePhoto.order_index, ProfilePhoto.created_at, ProfilePhoto.id)
        )
        return list(result.scalars())

    async def count(self, user_id: uuid.UUID) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(ProfilePhoto).where(ProfilePhoto.user_id == user_id)
        )
        return int(result.scalar_one())

    async def get_owned(self, user_id: uuid.UUID, photo_id: uuid.UUID) -> ProfilePhoto | None:
        result = await self.session.execute(
            select(ProfilePhoto).where(ProfilePhoto.id == photo_id, ProfilePhoto.user_id == user_id)
        )
        return result.scalar_one_or_none()

    async def add(self, photo: ProfilePhoto) -> ProfilePhoto:
        self.session.add(photo)
        await self.session.flush()  # constraint errors surface here, while the files can still be removed
        return photo

    async def clear_primary(self, user_id: uuid.UUID) -> None:
        # A separate statement before setting the new primary: the partial unique index is checked per row.
        await self.session.execute(
            update(ProfilePhoto)
            .where(ProfilePhoto.user_id == user_id, ProfilePhoto.is_primary.is_(True))
            .values(is_primary=False)
            .execution_options(synchronize_session=False)
        )

    async def set_primary(self, photo_id: uuid.UUID) -> None:
        await self.session.execute(
            update(ProfilePhoto)
            .where(ProfilePhoto.id == photo_id)
            .values(is_primary=True)
            .execution_options(synchronize_session=False)
        )

    async def delete(self, photo_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(ProfilePhoto).where(ProfilePhoto.id == photo_id).execution_options(synchronize_session=False)
        )

    async def set_order(self, user_id: uuid.UUID, photo_ids: list[uuid.UUID]) -> None:
        await self.session.execute(
            text(
                "UPDATE profile_photos p SET order_index = o.position - 1 "
                "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS o(id, position) "
                "WHERE p.id = o.id AND p.user_id = :user_id"
            ),
            {"ids": photo_ids, "user_id": user_id},
        )

    async def compact_order(self, user_id: uuid.UUID) -> None:
        """Renumber 0..n-1 in the current order, so `order_index` stays dense after a delete."""
        await self.session.execute(
            text(
                "UPDATE profile_photos p SET order_index = r.position - 1 FROM ("
                " SELECT id, row_number() OVER (ORDER BY order_index, created_at, id) AS position"
                " FROM profile_photos WHERE user_id = :user_id) r "
                "WHERE p.id = r.id AND p.order_index <> r.position - 1"
            ),
            {"user_id": user_id},
        )

    async def promote_first_if_no_primary(self, user_id: uuid.UUID) -> None:
        await self.session.execute(
            text(
                "UPDATE profile_photos SET is_primary = true WHERE id = ("
                " SELECT id FROM profile_photos WHERE user_id = :user_id ORDER BY order_index, created_at, id LIMIT 1)"
                " AND NOT EXISTS (SELECT 1 FROM profile_photos WHERE user_id = :user_id AND is_primary)"
            ),
            {"user_id": user_id},
        )


class DeletionRepository:
    """`media_deletions`: stored objects to remove, retried with back-off until the store confirms."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(self, keys: list[str], delay_s: float = 0) -> list[uuid.UUID]:
        due = datetime.now(UTC) + timedelta(seconds=delay_s)
        result = await self.session.execute(
            insert(MediaDeletion).returning(MediaDeletion.id),
            [{"storage_key": key, "next_attempt_at": due} for key in keys],
        )
        return list(result.scalars())

    async def drop(self, ids: list[uuid.UUID]) -> None:
        if ids:
            await self.session.execute(delete(MediaDeletion).where(MediaDeletion.id.in_(ids)))

    async def make_due(self, ids: list[uuid.UUID], error: str) -> None:
        await self.session.execute(
            update(MediaDeletion)
            .where(MediaDeletion.id.in_(ids))
            .values(next_attempt_at=func.now(), last_error=error[:2000])
        )

    async def claim_due(self, limit: int) -> list[MediaDeletion]:
        """Due entries, row-locked so that concurrent replicas each take different ones."""
        result = await self.session.execute(
            select(MediaDeletion)
            .where((MediaDeletion.next_attempt_at.is_(None)) | (MediaDeletion.next_attempt_at <= func.now()))
            .order_by(MediaDeletion.next_attempt_at.nulls_first())
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(result.scalars())

    async def referenced(self, keys: list[str]) -> set[str]:
        """Keys that a photo row still points at (an upload that committed after all)."""
        if not keys:
            return set()
        result = await self.session.execute(
            select(ProfilePhoto.storage_key, ProfilePhoto.thumbnail_key).where(
                ProfilePhoto.storage_key.in_(keys) | ProfilePhoto.thumbnail_key.in_(keys)
            )
        )
        return {key for row in result for key in row if key in keys}

    async def record_failure(self, entry: MediaDeletion, error: str, backoff_s: float) -> None:
        await self.session.execute(
            update(MediaDeletion)
            .where(MediaDeletion.id == entry.id)
            .values(
                attempts=MediaDeletion.attempts + 1,
                last_error=error[:2000],
                next_attempt_at=datetime.now(UTC) + timedelta(seconds=backoff_s),
            )
        )

    async def pending(self) -> int:
        result = await self.session.execute(select(func.count()).select_from(MediaDeletion))
        return int(result.scalar_one())
