"""/api/v1/billing: premium plans, subscribing through the payment provider, cancelling, webhooks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from deployments.auth.dependencies import CurrentUser
from deployments.billing.lifecycle import Provider
from deployments.billing.repository import SubscriptionRepository
from deployments.billing.schemas import PlansResponse, SubscribeRequest, SubscriptionResponse, WebhookResponse
from deployments.billing.service import BillingService, plan_list
from kit.db import Session
from kit.errors import error_responses

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])


async def _service(session: Session, provider: Provider) -> BillingService:
    return BillingService(SubscriptionRepository(session), provider)


Service = Annotated[BillingService, Depends(_service)]


@router.get("/plans", response_model=PlansResponse)
async def plans() -> PlansResponse:
    """The premium plans on sale, with price and features."""
    return PlansResponse(plans=plan_list())


@router.get("/subscription", response_model=SubscriptionResponse)
async def subscription(caller: CurrentUser, service: Service) -> SubscriptionResponse:
    """The caller's subscription in force (premium until `expires_at`), or null."""
    return SubscriptionResponse(subscription=await service.current(caller.id))


@router.post(
    "/subscribe",
    response_model=SubscriptionResponse,
    responses=error_responses(
        (402, "payment_failed", "the card was declined, or the payment needs a step this API cannot complete"),
        (409, "already_subscribed", "an active subscription exists"),
        (422, "invalid_payment_method", "the provider refused the token"),
        (503, "billing_unavailable", "the payment provider is unreachable or the plan is not set up there"),
    ),
)
async def subscribe(body: SubscribeRequest, caller: CurrentUser, service: Service) -> SubscriptionResponse:
    """Charge the card and start the plan (402 `payment_failed` on a decline, 409 if already subscribed)."""
    return SubscriptionResponse(subscription=await service.subscribe(caller.id, body))


@router.post(
    "/cancel",
    response_model=SubscriptionResponse,
    responses=error_responses(
        (404, "no_subscription", "no active subscription"),
    ),
)
async def cancel(caller: CurrentUser, service: Service) -> SubscriptionResponse:
    """Stop renewal; premium stays until `expires_at` of the period already paid."""
    return SubscriptionResponse(subscription=await service.cancel(caller.id))


@router.post("/webhook", response_model=WebhookResponse, include_in_schema=False)
async def webhook(request: Request, session: Session, provider: Provider) -> WebhookResponse:
    """Stripe events (signature checked) that change a subscription's status or paid period."""
    subscription_id = provider.webhook_subscription_id(
        await request.body(), request.headers.get("stripe-signature", "")
    )
    if subscription_id:
        await BillingService(SubscriptionRepository(session), provider).sync(subscription_id)
    return WebhookResponse()
