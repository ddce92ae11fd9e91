"""Billing rules: one active subscription per user, written only after the provider took the money."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from deployments.billing.plans import PLANS, Plan
from deployments.billing.provider import BillingProvider, PaymentFailed, ProviderSubscription
from deployments.billing.repository import SubscriptionRepository
from deployments.billing.schemas import PlanOut, SubscribeRequest, SubscriptionOut
from kit.errors import Conflict, NotFound, Unprocessable
from models import Subscription

log = logging.getLogger("app.billing")


def plan_list() -> list[PlanOut]:
    return [
        PlanOut(
            id=p.id, name=p.name, price=p.price, currency=p.currency, interval=p.interval, features=list(p.features)
        )
        for p in PLANS.values()
    ]


def render(row: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=row.id,
        plan_id=row.plan_type,
        status=row.status,
        started_at=row.started_at,
        expires_at=row.expires_at,
        cancel_at_period_end=row.cancel_at_period_end,
    )


class BillingService:
    def __init__(self, repo: SubscriptionRepository, provider: BillingProvider) -> None:
        self.repo = repo
        self.provider = provider

    async def current(self, user_id: uuid.UUID) -> SubscriptionOut | None:
        row = await self.repo.active(user_id)
        return render(row) if row else None

    async def subscribe(self, user_id: uuid.UUID, request: SubscribeRequest) -> SubscriptionOut:
        plan = self._plan(request.plan_id)
        # Held until the request's transaction ends, so a second tap waits and then sees the row.
        await self.repo.lock_user(user_id)
        if await self.repo.active(user_id) is not None:
            raise Conflict("You already have an active subscription", code="already_subscribed")
        customer_id = await self.repo.last_customer_id(user_id)
        sub = await self.provider.subscribe(user_id, plan, request.payment_method.token, customer_id)
        if sub.status != "active":  # e.g. the bank wants 3-D Secure, which this API cannot complete
            await self._release(sub)
            raise PaymentFailed("The payment could not be completed")
        try:
            row = await self.repo.add(
                user_id, plan.id, sub.status, sub.current_period_end, sub.customer_id, sub.id, sub.cancel_at_period_end
            )
        except Exception:
            await self._release(sub)  # charged but not recorded: undo rather than keep the money
            raise
        log.info("user %s subscribed to %s (%s %s)", user_id, plan.id, self.provider.name, sub.id)
        return render(row)

    async def cancel(self, user_id: uuid.UUID) -> SubscriptionOut:
        row = await self.repo.active(user_id)
        if row is None:
            raise NotFound("You have no active subscription", code="no_subscription")
        if row.cancel_at_period_end:
            return render(row)
        sub = (
            await self.provider.cancel_at_period_end(row.provider_subscription_id)
            if row.provider_subscription_id
            else None
        )
        values: dict[str, object] = {"cancel_at_period_end": True}
        if sub is not None and sub.current_period_end is not None:
            values["expires_at"] = sub.current_period_end
        return render(await self.repo.update(row, **values))

    async def end_now(self, user_id: uuid.UUID) -> bool:
        """Account deletion: the active subscription ends now at the provider (no renewal, no
        further charge), then here. A provider failure raises (503 billing_unavailable), so an
        account is never deleted while its card can still be charged. True when one was ended."""
        row = await self.repo.active(user_id)
        if row is None:
            return False
        if row.provider_subscription_id:
            await self.provider.cancel_now(row.provider_subscription_id)
        await self.repo.update(row, status="canceled", cancel_at_period_end=True, expires_at=datetime.now(UTC))
        log.info("subscription %s of user %s ended for account deletion", row.id, user_id)
        return True

    async def sync(self, provider_subscription_id: str) -> None:
        """Bring our row in line with the provider's current state (webhooks; order-independent)."""
        sub = await self.provider.retrieve(provider_subscription_id)
        if sub is None:
            log.info("ignoring event for unknown provider subscription %s", provider_subscription_id)
            return
        user_id = _uuid(sub.metadata.get("user_id"))
        if user_id is not None:
            await self.repo.lock_user(user_id)
        row = await self.repo.by_provider_id(sub.id)
        if row is not None:
            values = {"status": sub.status, "cancel_at_period_end": sub.cancel_at_period_end}
            if sub.current_period_end is not None:
                values["expires_at"] = sub.current_period_end
            await self.repo.update(row, **values)
            return
        await self._recover(user_id, sub)

    async def _recover(self, user_id: uuid.UUID | None, sub: ProviderSubscription) -> None:
        """A paid subscription we never recorded (the request died after Stripe said yes): record it."""
        plan = PLANS.get(sub.metadata.get("plan_id", ""))
        if user_id is None or plan is None or sub.status != "active" or not await self.repo.user_exists(user_id):
            log.info("ignoring provider subscription %s: not ours or not active", sub.id)
            return
        log.warning("recording provider subscription %s for user %s from a webhook", sub.id, user_id)
        await self.repo.add(
            user_id, plan.id, sub.status, sub.current_period_end, sub.customer_id, sub.id, sub.cancel_at_period_end
        )

    async def _release(self, sub: ProviderSubscription) -> None:
        try:
            await self.provider.cancel_now(sub.id)
        except Exception:
            log.exception("could not cancel provider subscription %s; refund it by hand", sub.id)

    @staticmethod
    def _plan(plan_id: str) -> Plan:
        plan = PLANS.get(plan_id)
        if plan is None:
            raise Unprocessable(f"plan_id: unknown plan; choose one of {', '.join(PLANS)}", code="unknown_plan")
        return plan


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


class PremiumStatus:
    """Whether a user holds an active subscription, for other domains' rules (read in their transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._subscriptions = SubscriptionRepository(session)

    async def is_premium(self, user_id: uuid.UUID) -> bool:
        return await self._subscriptions.is_premium(user_id)


def billing_service(session: AsyncSession, provider: BillingProvider) -> BillingService:
    """For other domains (account deletion ends the subscription in its own transaction)."""
    return BillingService(SubscriptionRepository(session), provider)
