"""All SQL of the billing domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models import Subscription, User


class SubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self, user_id: uuid.UUID) -> Subscription | None:
        """The caller's current paid plan, if any: active and not past its expiry."""
        result = await self.session.execute(
            select(Subscription)
            .where(
                Subscription.user_id == user_id,
                Subscription.status == "active",
                or_(Subscription.expires_at.is_(None), Subscription.expires_at > func.now()),
            )
            .order_by(Subscription.expires_at.desc().nulls_first())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def is_premium(self, user_id: uuid.UUID) -> bool:
        return await self.active(user_id) is not None

    async def lock_user(self, user_id: uuid.UUID) -> None:
        """Serialise one user's purchases until this transaction ends (two taps, one charge)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"billing:{user_id}"}
        )

    async def last_customer_id(self, user_id: uuid.UUID) -> str | None:
        """The provider customer of the user's earlier subscriptions, reused for a new one."""
        result = await self.session.execute(
            select(Subscription.provider_customer_id)
            .where(Subscription.user_id == user_id, Subscription.provider_customer_id.is_not(None))
            .order_by(Subscription.created_at.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def by_provider_id(self, provider_subscription_id: str) -> Subscription | None:
        result = await self.session.execute(
            select(Subscription)
            .where(Subscription.provider_subscription_id == provider_subscription_id)
            .with_for_update()
        )
        return result.scalar_one_or_none()

    async def add(
        self,
        user_id: uuid.UUID,
        plan_id: str,
        status: str,
        expires_at: datetime | None,
        customer_id: str,
        provider_subscription_id: str,
        cancel_at_period_end: bool,
    ) -> Subscription:
        row = Subscription(
            user_id=user_id,
            plan_type=plan_id,
            status=status,
            expires_at=expires_at,
            provider_customer_id=customer_id,
            provider_subscription_id=provider_subscription_id,
            cancel_at_period_end=cancel_at_period_end,
        )
        self.session.add(row)
        await self.session.flush()
        await self.session.refresh(row)
        return row

    async def user_exists(self, user_id: uuid.UUID) -> bool:
        result = await self.session.execute(select(User.id).where(User.id == user_id, User.deleted_at.is_(None)))
        return result.scalar_one_or_none() is not None

    async def update(self, row: Subscription, **values) -> Subscription:
        for name, value in values.items():
            setattr(row, name, value)
        await self.session.flush()
        return row
