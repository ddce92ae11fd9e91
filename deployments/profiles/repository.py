"""All SQL of the profiles domain."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import ProfilePhoto, UserInterest, UserProfile


class ProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> UserProfile | None:
        result = await self.session.execute(select(UserProfile).where(UserProfile.user_id == user_id))
        return result.scalar_one_or_none()

    async def upsert(self, user_id: uuid.UUID, values: dict[str, Any]) -> None:
        """Insert the profile or update just the given columns (CHECK constraints are the last word)."""
        stmt = insert(UserProfile).values(user_id=user_id, **values)
        if values:
            stmt = stmt.on_conflict_do_update(index_elements=[UserProfile.user_id], set_={**values, "updated_at": func.now()})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=[UserProfile.user_id])
        await self.session.execute(stmt)

    async def interests(self, user_id: uuid.UUID) -> list[str]:
        result = await self.session.execute(
            select(UserInterest.interest_name).where(UserInterest.user_id == user_id)
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
