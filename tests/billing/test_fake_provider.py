"""Without STRIPE_SECRET_KEY (development), the fake provider activates plans at once."""

import pytest

from kit.settings import Settings
from tests.billing.helpers import is_premium, subscribe
from tests.factories import login


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"stripe_secret_key": "", "stripe_webhook_secret": ""})


async def test_fake_provider_activates_without_contacting_stripe(app, client, settings, db, stripe_api):
    user = await login(client, settings.sms_outbox)

    response = await subscribe(client, user)

    assert response.status_code == 200, response.text
    assert response.json()["subscription"]["status"] == "active"
    assert await is_premium(app, user.id)
    assert (await db.fetchval("SELECT provider_subscription_id FROM subscriptions")).startswith("fake_sub_")
    assert stripe_api.requests == []


async def test_fake_provider_declines_stripes_decline_test_token(client, settings, db):
    user = await login(client, settings.sms_outbox)

    response = await subscribe(client, user, token="tok_chargeDeclined")

    assert response.status_code == 402
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 0


async def test_fake_provider_cancel_keeps_premium_until_expiry(app, client, settings):
    user = await login(client, settings.sms_outbox)
    await subscribe(client, user)

    response = await client.post("/api/v1/billing/cancel", headers=user.headers)

    assert response.json()["subscription"]["cancel_at_period_end"] is True
    assert await is_premium(app, user.id)


async def test_webhook_is_404_without_stripe(client):
    response = await client.post("/api/v1/billing/webhook", content=b"{}", headers={"Stripe-Signature": "t=1,v1=x"})

    assert response.status_code == 404


def test_production_refuses_to_start_without_a_stripe_key():
    with pytest.raises(ValueError, match="STRIPE_SECRET_KEY"):
        Settings(
            app_env="production",
            jwt_secret="x" * 40,
            sms_provider="twilio",
            database_url="postgresql://db/x",
            redis_url="redis://r/0",
            stripe_secret_key="",
        )
