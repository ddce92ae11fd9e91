"""Billing tests run the real `stripe` SDK against a local fake of Stripe's HTTP API."""

from __future__ import annotations

import pytest

from deployments.billing.plans import PLANS
from tests.fakes.stripe_api import FakeStripe, StripeServer

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def stripe_api() -> FakeStripe:
    with StripeServer() as fake:
        for plan in PLANS.values():
            fake.add_price(plan.id, plan.amount_cents, plan.interval, plan.currency)
        yield fake


@pytest.fixture
def settings(settings, stripe_api):
    return settings.model_copy(
        update={
            "stripe_secret_key": "sk_test_fake123",
            "stripe_api_base": stripe_api.url,
            "stripe_webhook_secret": WEBHOOK_SECRET,
        }
    )
