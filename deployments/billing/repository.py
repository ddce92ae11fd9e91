"""All SQL of the billing domain."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Subscription


class SubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self, user_id: uuid.UUID) -> Subscription | None:
        """The caller's current paid plan, if any: active and not past its expiry."""
        result = await self.session.execute(
            select(Subscription)
            .where(Subscription.user_id == user_id, Subscription.status == "active",
                   or_(Subscription.expires_at.is_(None), Subscription.expires_at > func.now()))
            .order_by(Subscription.expires_at.desc().nulls_first())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def is_premium(self, user_id: uuid.UUID) -> bool:
        return await self.active(user_id) is not None
