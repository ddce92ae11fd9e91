"""All SQL of the profiles domain."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import LazyPool, Row, fetch_raw
from models import ProfilePhoto, UserInterest, UserProfile

# The profile (NULL columns when there is none yet), its interests and its photos in one statement.
_FULL = """
SELECT p.*,
       ARRAY(SELECT i.interest_name FROM user_interests i WHERE i.user_id = me.id
              ORDER BY i.interest_name) AS interest_names,
       ARRAY(SELECT ROW(ph.id, ph.photo_url, ph.storage_key, ph.is_primary) FROM profile_photos ph
              WHERE ph.user_id = me.id ORDER BY ph.order_index, ph.created_at, ph.id) AS photo_rows
  FROM (SELECT $1::uuid AS id) me LEFT JOIN user_profiles p ON p.user_id = me.id
"""


class PhotoRow(NamedTuple):
    """What a profile shows of a photo (`PhotoUrl` reads photo_url and storage_key)."""

    id: uuid.UUID
    photo_url: str
    storage_key: str | None
    is_primary: bool


class ProfileRepository:
    def __init__(self, session: AsyncSession, pg: LazyPool | None = None) -> None:
        self.session = session
        self.pg = pg

    async def full(self, user_id: uuid.UUID) -> tuple[Row | None, list[str], list[PhotoRow]]:
        """(profile row or None, interests, photos) in one round trip, on the raw pool unless this
        request has written (then in its transaction, which sees the writes)."""
        (row,) = await fetch_raw(self.session, self.pg, _FULL, user_id)
        photos = [PhotoRow(*photo) for photo in row["photo_rows"]]
        return (row if row["user_id"] is not None else None), list(row["interest_names"]), photos

    async def get(self, user_id: uuid.UUID) -> UserProfile | None:
        result = await self.session.execute(select(UserProfile).where(UserProfile.user_id == user_id))
        return result.scalar_one_or_none()

    async def upsert(self, user_id: uuid.UUID, values: dict[str, Any]) -> None:
        """Insert the profile or update just the given columns (CHECK constraints are the last word)."""
        stmt = insert(UserProfile).values(user_id=user_id, **values)
        if values:
            stmt = stmt.on_conflict_do_update(
                index_elements=[UserProfile.user_id], set_={**values, "updated_at": func.now()}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=[UserProfile.user_id])
        await self.session.execute(stmt)

    async def interests(self, user_id: uuid.UUID) -> list[str]:
        result = await self.session.execute(
            select(UserInterest.interest_name)
            .where(UserInterest.user_id == user_id)
            .order_by(UserInterest.interest_name)
        )
        return list(result.scalars())

    async def replace_interests(self, user_id: uuid.UUID, names: list[str]) -> None:
        await self.session.execute(delete(UserInterest).where(UserInterest.user_id == user_id))
        if names:
            await self.session.execute(insert(UserInterest), [{"user_id": user_id, "interest_name": n} for n in names])

    async def photos(self, user_id: uuid.UUID) -> list[ProfilePhoto]:
        result = await self.session.execute(
            select(ProfilePhoto).where(ProfilePhoto.user_id == user_id).order_by(ProfilePhoto.order_index)
        )
        return list(result.scalars())
