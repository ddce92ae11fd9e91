"""Request and response bodies of /api/v1/billing, the API design's shapes (plus a few extra fields)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from deployments.billing.plans import PLANS


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanOut(BaseModel):
    id: str = Field(examples=["premium_monthly"])
    name: str = Field(examples=["Premium Monthly"])
    price: float = Field(examples=[19.99])
    currency: str = Field(examples=["usd"])
    interval: Literal["month", "year"]
    features: list[str] = Field(examples=[["Unlimited likes", "See who liked you", "Rewind feature"]])


class PlansResponse(BaseModel):
    success: bool = True
    plans: list[PlanOut]


class PaymentMethodIn(Strict):
    type: Literal["card"]
    token: str = Field(
        min_length=3,
        max_length=255,
        pattern=r"^[A-Za-z0-9_]+$",
        description="A Stripe card token (tok_...) or PaymentMethod id (pm_...) from the client SDK",
        examples=["tok_visa"],
    )


PlanId = Literal["premium_monthly", "premium_yearly"]
assert set(PlanId.__args__) == set(PLANS)  # type: ignore[attr-defined]  # the API's enum is the plans on sale


class SubscribeRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"plan_id": "premium_monthly", "payment_method": {"type": "card", "token": "tok_visa"}}]
        },
    )

    plan_id: PlanId = Field(examples=["premium_monthly"])
    payment_method: PaymentMethodIn


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    plan_id: str
    status: str = Field(examples=["active"])
    started_at: datetime
    expires_at: datetime | None = Field(description="End of the paid period; premium holds until then")
    cancel_at_period_end: bool = Field(description="True after /cancel: the plan will not renew")


class SubscriptionResponse(BaseModel):
    success: bool = True
    subscription: SubscriptionOut | None


class WebhookResponse(BaseModel):
    success: bool = True
    received: bool = True
