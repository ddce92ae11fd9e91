"""Small helpers shared by the billing tests."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from deployments.billing.repository import SubscriptionRepository
from tests.factories import TestUser


async def subscribe(
    client: httpx.AsyncClient, user: TestUser, plan_id: str = "premium_monthly", token: str = "tok_visa"
) -> httpx.Response:
    return await client.post(
        "/api/v1/billing/subscribe",
        headers=user.headers,
        json={"plan_id": plan_id, "payment_method": {"type": "card", "token": token}},
    )


async def is_premium(app: FastAPI, user_id: uuid.UUID) -> bool:
    """Asked the way the matching domain asks."""
    async with app.state.resources.sessionmaker() as session:
        return await SubscriptionRepository(session).is_premium(user_id)
