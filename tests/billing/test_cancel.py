from datetime import datetime

from tests.billing.helpers import is_premium, subscribe
from tests.factories import login


async def test_cancel_stops_renewal_in_stripe_but_premium_holds_until_expiry(app, client, settings, db, stripe_api):
    user = await login(client, settings.sms_outbox)
    created = (await subscribe(client, user)).json()["subscription"]

    response = await client.post("/api/v1/billing/cancel", headers=user.headers)

    assert response.status_code == 200, response.text
    sub = response.json()["subscription"]
    assert sub["status"] == "active" and sub["cancel_at_period_end"] is True
    assert datetime.fromisoformat(sub["expires_at"]) == datetime.fromisoformat(created["expires_at"])
    provider_id = await db.fetchval("SELECT provider_subscription_id FROM subscriptions WHERE user_id = $1", user.id)
    [update] = stripe_api.calls("POST", f"/v1/subscriptions/{provider_id}")
    assert update.params == {"cancel_at_period_end": "true"}
    assert stripe_api.subscriptions[provider_id]["cancel_at_period_end"] is True
    assert await is_premium(app, user.id)
    current = await client.get("/api/v1/billing/subscription", headers=user.headers)
    assert current.json()["subscription"]["cancel_at_period_end"] is True


async def test_cancelling_twice_asks_stripe_once(client, settings, stripe_api):
    user = await login(client, settings.sms_outbox)
    await subscribe(client, user)

    first = await client.post("/api/v1/billing/cancel", headers=user.headers)
    second = await client.post("/api/v1/billing/cancel", headers=user.headers)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert len([c for c in stripe_api.calls("POST", "/v1/subscriptions/")]) == 1


async def test_cancel_without_a_subscription_is_404(client, settings, stripe_api):
    user = await login(client, settings.sms_outbox)

    response = await client.post("/api/v1/billing/cancel", headers=user.headers)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_subscription"
    assert stripe_api.requests == []


async def test_cancel_touches_only_the_callers_subscription(client, settings, db):
    owner = await login(client, settings.sms_outbox)
    other = await login(client, settings.sms_outbox)
    await subscribe(client, owner)

    response = await client.post("/api/v1/billing/cancel", headers=other.headers)

    assert response.status_code == 404
    assert await db.fetchval("SELECT cancel_at_period_end FROM subscriptions WHERE user_id = $1", owner.id) is False


async def test_cancel_requires_a_logged_in_user(client):
    assert (await client.post("/api/v1/billing/cancel")).status_code == 401
