"""/api/v1/billing: premium plans, subscribing through the payment provider, cancelling, webhooks."""

from __future__ import annotations

from fastapi import APIRouter, Request

from deployments.auth.dependencies import CurrentUser
from deployments.billing.provider import BillingProvider, make_billing_provider
from deployments.billing.repository import SubscriptionRepository
from deployments.billing.schemas import PlansResponse, SubscribeRequest, SubscriptionResponse, WebhookResponse
from deployments.billing.service import BillingService, plan_list
from kit.db import Session

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])


def _provider(request: Request) -> BillingProvider:
    """One provider per app, made on first use (the SDK client keeps its HTTP connections)."""
    state = request.app.state
    provider = getattr(state, "billing_provider", None)
    if provider is None:
        provider = state.billing_provider = make_billing_provider(state.settings)
    return provider


def _service(request: Request, session) -> BillingService:
    return BillingService(SubscriptionRepository(session), _provider(request))


@router.get("/plans", response_model=PlansResponse)
async def plans() -> PlansResponse:
    """The premium plans on sale, with price and features."""
    return PlansResponse(plans=plan_list())


@router.get("/subscription", response_model=SubscriptionResponse)
async def subscription(caller: CurrentUser, request: Request, session: Session) -> SubscriptionResponse:
    """The caller's subscription in force (premium until `expires_at`), or null."""
    return SubscriptionResponse(subscription=await _service(request, session).current(caller.id))


@router.post("/subscribe", response_model=SubscriptionResponse)
async def subscribe(body: SubscribeRequest, caller: CurrentUser, request: Request,
                    session: Session) -> SubscriptionResponse:
    """Charge the card and start the plan (402 `payment_failed` on a decline, 409 if already subscribed)."""
    return SubscriptionResponse(subscription=await _service(request, session).subscribe(caller.id, body))


@router.post("/cancel", response_model=SubscriptionResponse)
async def cancel(caller: CurrentUser, request: Request, session: Session) -> SubscriptionResponse:
    """Stop renewal; premium stays until `expires_at` of the period already paid."""
    return SubscriptionResponse(subscription=await _service(request, session).cancel(caller.id))


@router.post("/webhook", response_model=WebhookResponse, include_in_schema=False)
async def webhook(request: Request, session: Session) -> WebhookResponse:
    """Stripe events (signature checked) that change a subscription's status or paid period."""
    provider = _provider(request)
    subscription_id = provider.webhook_subscription_id(await request.body(),
                                                       request.headers.get("stripe-signature", ""))
    if subscription_id:
        await BillingService(SubscriptionRepository(session), provider).sync(subscription_id)
    return WebhookResponse()
