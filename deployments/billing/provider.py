"""Payment providers behind one interface: `stripe` for real money, `fake` for development.

`make_billing_provider` picks Stripe when STRIPE_SECRET_KEY is set. Without it (development
and test only; production settings refuse to start) the `FakeBilling` provider activates every
subscription at once without charging anything. Like Stripe's test tokens, the fake declines
the payment tokens `tok_chargeDeclined`, `tok_visa_chargeDeclined` and `tok_chargeCustomerFail`,
so a client can exercise its decline path locally.
"""

from __future__ import annotations

import asyncio
import calendar
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from deployments.billing.plans import Plan
from kit.errors import AppError, NotFound, ServiceUnavailable, Unprocessable
from kit.settings import Settings

log = logging.getLogger("app.billing")
T = TypeVar("T")

# Stripe's subscription statuses -> ours (models.subscription.SUBSCRIPTION_STATUSES).
# Only "active" grants premium, so every state where Stripe is not being paid maps elsewhere.
STATUS_MAP = {
    "active": "active",
    "trialing": "active",
    "incomplete": "incomplete",
    "incomplete_expired": "expired",
    "past_due": "past_due",
    "unpaid": "past_due",
    "paused": "past_due",
    "canceled": "canceled",
}
SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
)
DECLINED_TEST_TOKENS = ("tok_chargeDeclined", "tok_visa_chargeDeclined", "tok_chargeCustomerFail")


class PaymentFailed(AppError):
    status, code = 402, "payment_failed"


@dataclass(frozen=True)
class ProviderSubscription:
    """A subscription as the provider sees it, already translated to our vocabulary."""

    id: str
    customer_id: str
    status: str
    current_period_end: datetime | None
    cancel_at_period_end: bool = False
    metadata: dict[str, str] = field(default_factory=dict)


class BillingProvider(Protocol):
    name: str

    async def subscribe(
        self, user_id: uuid.UUID, plan: Plan, token: str, customer_id: str | None
    ) -> ProviderSubscription: ...

    async def cancel_at_period_end(self, subscription_id: str) -> ProviderSubscription | None: ...

    async def cancel_now(self, subscription_id: str) -> None: ...

    async def retrieve(self, subscription_id: str) -> ProviderSubscription | None: ...

    def webhook_subscription_id(self, payload: bytes, signature: str) -> str | None: ...


class FakeBilling:
    """Development provider: every subscription is active at once and nothing is charged."""

    name = "fake"

    async def subscribe(
        self, user_id: uuid.UUID, plan: Plan, token: str, customer_id: str | None
    ) -> ProviderSubscription:
        if token in DECLINED_TEST_TOKENS:
            raise PaymentFailed("Your card was declined.")
        log.info("fake billing: %s subscribed to %s without a charge", user_id, plan.id)
        return ProviderSubscription(
            id=f"fake_sub_{uuid.uuid4().hex[:20]}",
            customer_id=customer_id or f"fake_cus_{uuid.uuid4().hex[:20]}",
            status="active",
            current_period_end=add_interval(datetime.now(UTC), plan.interval),
            metadata={"user_id": str(user_id), "plan_id": plan.id},
        )

    async def cancel_at_period_end(self, subscription_id: str) -> ProviderSubscription | None:
        return None  # nothing to tell anyone; the row keeps its expiry

    async def cancel_now(self, subscription_id: str) -> None:
        return None

    async def retrieve(self, subscription_id: str) -> ProviderSubscription | None:
        raise NotFound("The fake billing provider keeps no subscriptions", code="webhook_not_configured")

    def webhook_subscription_id(self, payload: bytes, signature: str) -> str | None:
        raise NotFound("Billing webhooks are not configured", code="webhook_not_configured")


class StripeBilling:
    """The official Stripe SDK. Its calls block, so each runs in a worker thread.
    `api_base` points the SDK at another host (a local fake of Stripe's API in tests)."""

    name = "stripe"

    def __init__(self, secret_key: str, api_base: str = "", webhook_secret: str = "") -> None:
        import stripe

        extra: dict[str, Any] = {"base_addresses": {"api": api_base.rstrip("/")}} if api_base else {}
        # Retried POSTs reuse an SDK-generated Idempotency-Key, so a retry never charges twice.
        self.client = stripe.StripeClient(
            secret_key, http_client=stripe.RequestsClient(timeout=20), max_network_retries=2, **extra
        )
        self.webhook_secret = webhook_secret
        self._prices: dict[str, str] = {}

    async def subscribe(
        self, user_id: uuid.UUID, plan: Plan, token: str, customer_id: str | None
    ) -> ProviderSubscription:
        return await self._call(self._subscribe, user_id, plan, token, customer_id)

    async def cancel_at_period_end(self, subscription_id: str) -> ProviderSubscription | None:
        sub = await self._call(self.client.v1.subscriptions.update, subscription_id, {"cancel_at_period_end": True})
        return from_stripe(sub.to_dict())

    async def cancel_now(self, subscription_id: str) -> None:
        await self._call(self.client.v1.subscriptions.cancel, subscription_id)

    async def retrieve(self, subscription_id: str) -> ProviderSubscription | None:
        import stripe

        try:
            sub = await asyncio.to_thread(self.client.v1.subscriptions.retrieve, subscription_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:  # not in this Stripe account: nothing to sync
                return None
            raise ServiceUnavailable("Payments are unavailable; try again shortly", code="billing_unavailable") from exc
        except stripe.StripeError as exc:
            raise ServiceUnavailable("Payments are unavailable; try again shortly", code="billing_unavailable") from exc
        return from_stripe(sub.to_dict())

    def webhook_subscription_id(self, payload: bytes, signature: str) -> str | None:
        """Verify the signature; the subscription a billing event is about, or None to ignore it."""
        import stripe

        if not self.webhook_secret:
            raise NotFound("Billing webhooks are not configured", code="webhook_not_configured")
        try:
            event = self.client.construct_event(payload, signature, self.webhook_secret).to_dict()
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise AppError("Invalid webhook signature", code="invalid_signature", status=400) from exc
        if event.get("type") not in SUBSCRIPTION_EVENTS:
            return None
        return subscription_id_of(event.get("data", {}).get("object", {}))

    def _subscribe(self, user_id: uuid.UUID, plan: Plan, token: str, customer_id: str | None):
        import stripe

        price = self._price_id(plan)
        created = None
        try:
            method = (
                token
                if token.startswith("pm_")
                else self.client.v1.payment_methods.create({"type": "card", "card": {"token": token}}).id
            )
            if customer_id is None:
                created = customer_id = self.client.v1.customers.create({"metadata": {"user_id": str(user_id)}}).id
            self.client.v1.payment_methods.attach(method, {"customer": customer_id})
        except stripe.InvalidRequestError as exc:
            self._forget_customer(created)
            raise Unprocessable(
                "The payment method was not accepted; check the card token", code="invalid_payment_method"
            ) from exc
        except Exception:
            self._forget_customer(created)
            raise
        try:
            # error_if_incomplete: a first invoice that cannot be paid is a 402 and no subscription.
            sub = self.client.v1.subscriptions.create(
                {
                    "customer": customer_id,
                    "items": [{"price": price}],
                    "default_payment_method": method,
                    "payment_behavior": "error_if_incomplete",
                    "metadata": {"user_id": str(user_id), "plan_id": plan.id},
                }
            )
        except Exception:
            self._forget_customer(created)
            raise
        return from_stripe(sub.to_dict())

    def _price_id(self, plan: Plan) -> str:
        """The Stripe Price for a plan, by lookup key, checked against what we advertise."""
        if plan.id not in self._prices:
            prices = self.client.v1.prices.list({"lookup_keys": [plan.id], "active": True, "limit": 1}).data
            price = prices[0].to_dict() if prices else None
            recurring = (price or {}).get("recurring") or {}
            if (
                price is None
                or price.get("unit_amount") != plan.amount_cents
                or price.get("currency") != plan.currency
                or recurring.get("interval") != plan.interval
            ):
                log.error("Stripe has no active price matching plan %s (lookup_key %s)", plan.id, plan.id)
                raise ServiceUnavailable("This plan cannot be bought right now", code="billing_unavailable")
            self._prices[plan.id] = price["id"]
        return self._prices[plan.id]

    def _forget_customer(self, customer_id: str | None) -> None:
        """Best effort: do not leave a customer behind for a failed first purchase."""
        if customer_id is None:
            return
        try:
            self.client.v1.customers.delete(customer_id)
        except Exception:  # an orphan customer costs nothing; the user's error matters more
            log.warning("could not delete Stripe customer %s after a failed purchase", customer_id)

    @staticmethod
    async def _call(fn: Callable[..., T], *args: Any) -> T:
        import stripe

        try:
            return await asyncio.to_thread(fn, *args)
        except stripe.CardError as exc:
            raise PaymentFailed(exc.user_message or "Your card was declined.") from exc
        except stripe.StripeError as exc:
            log.warning("Stripe call %s failed: %r", getattr(fn, "__name__", fn), exc)
            raise ServiceUnavailable("Payments are unavailable; try again shortly", code="billing_unavailable") from exc


def from_stripe(sub: dict[str, Any]) -> ProviderSubscription:
    """Since API version 2025-03-31 the billing period lives on the subscription items."""
    items = (sub.get("items") or {}).get("data") or []
    period_end = max((i.get("current_period_end") or 0 for i in items), default=0) or sub.get("current_period_end")
    customer = sub.get("customer")
    return ProviderSubscription(
        id=sub["id"],
        customer_id=customer["id"] if isinstance(customer, dict) else str(customer),
        status=STATUS_MAP.get(sub.get("status", ""), "incomplete"),
        current_period_end=datetime.fromtimestamp(period_end, UTC) if period_end else None,
        cancel_at_period_end=bool(sub.get("cancel_at_period_end") or sub.get("cancel_at")),
        metadata=dict(sub.get("metadata") or {}),
    )


def subscription_id_of(obj: dict[str, Any]) -> str | None:
    """A subscription event carries the subscription; an invoice names it (old and new API shapes)."""
    if obj.get("object") == "subscription":
        return obj.get("id")
    details = ((obj.get("parent") or {}).get("subscription_details") or {}).get("subscription") or obj.get(
        "subscription"
    )
    return details.get("id") if isinstance(details, dict) else details


def add_interval(start: datetime, interval: str) -> datetime:
    """One billing period later, on the same day of the month where it exists (Jan 31 -> Feb 28)."""
    if interval == "year":
        year, month = start.year + 1, start.month
    else:
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def make_billing_provider(settings: Settings) -> BillingProvider:
    if settings.stripe_secret_key:
        return StripeBilling(settings.stripe_secret_key, settings.stripe_api_base, settings.stripe_webhook_secret)
    if settings.app_env == "production":  # Settings already refuses this; never sell premium for free
        raise ValueError("STRIPE_SECRET_KEY is required in production")
    return FakeBilling()
