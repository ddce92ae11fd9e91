import time
from datetime import UTC, datetime

from tests.billing.conftest import WEBHOOK_SECRET
from tests.billing.helpers import is_premium, subscribe
from tests.factories import login
from tests.fakes.stripe_api import sign


async def post_event(client, payload: bytes, secret: str = WEBHOOK_SECRET):
    return await client.post(
        "/api/v1/billing/webhook",
        content=payload,
        headers={"Stripe-Signature": sign(payload, secret), "Content-Type": "application/json"},
    )


async def subscribed(client, settings, db):
    user = await login(client, settings.sms_outbox)
    assert (await subscribe(client, user)).status_code == 200
    provider_id = await db.fetchval("SELECT provider_subscription_id FROM subscriptions WHERE user_id = $1", user.id)
    return user, provider_id


async def test_subscription_deleted_event_ends_premium(app, client, settings, db, stripe_api):
    user, provider_id = await subscribed(client, settings, db)
    stripe_sub = stripe_api.subscriptions[provider_id]
    stripe_sub.update(status="canceled", ended_at=int(time.time()))

    response = await post_event(client, stripe_api.event("customer.subscription.deleted", stripe_sub))

    assert response.status_code == 200, response.text
    assert await db.fetchval("SELECT status FROM subscriptions WHERE user_id = $1", user.id) == "canceled"
    assert not await is_premium(app, user.id)


async def test_invoice_paid_event_extends_the_paid_period(client, settings, db, stripe_api):
    user, provider_id = await subscribed(client, settings, db)
    renewed_until = int(time.time()) + 60 * 86400
    stripe_api.subscriptions[provider_id]["items"]["data"][0]["current_period_end"] = renewed_until

    response = await post_event(client, stripe_api.event("invoice.paid", stripe_api.invoice_for(provider_id)))

    assert response.status_code == 200, response.text
    expires = await db.fetchval("SELECT expires_at FROM subscriptions WHERE user_id = $1", user.id)
    assert expires == datetime.fromtimestamp(renewed_until, UTC)


async def test_payment_trouble_reported_by_stripe_suspends_premium(app, client, settings, db, stripe_api):
    user, provider_id = await subscribed(client, settings, db)
    stripe_api.subscriptions[provider_id]["status"] = "past_due"

    response = await post_event(
        client, stripe_api.event("customer.subscription.updated", stripe_api.subscriptions[provider_id])
    )

    assert response.status_code == 200
    assert await db.fetchval("SELECT status FROM subscriptions WHERE user_id = $1", user.id) == "past_due"
    assert not await is_premium(app, user.id)


async def test_event_with_a_bad_signature_is_400_and_changes_nothing(client, settings, db, stripe_api):
    user, provider_id = await subscribed(client, settings, db)
    stripe_api.subscriptions[provider_id]["status"] = "canceled"
    payload = stripe_api.event("customer.subscription.deleted", stripe_api.subscriptions[provider_id])

    response = await post_event(client, payload, secret="whsec_someone_else")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert await db.fetchval("SELECT status FROM subscriptions WHERE user_id = $1", user.id) == "active"


async def test_paid_subscription_missing_locally_is_recorded_from_its_event(app, client, settings, db, stripe_api):
    user, provider_id = await subscribed(client, settings, db)
    await db.execute("DELETE FROM subscriptions")  # as if the request died after Stripe said yes

    response = await post_event(
        client, stripe_api.event("customer.subscription.updated", stripe_api.subscriptions[provider_id])
    )

    assert response.status_code == 200
    row = await db.fetchrow("SELECT * FROM subscriptions WHERE provider_subscription_id = $1", provider_id)
    assert row["user_id"] == user.id and row["plan_type"] == "premium_monthly" and row["status"] == "active"
    assert await is_premium(app, user.id)


async def test_unrelated_event_is_acknowledged_and_ignored(client, db, stripe_api):
    payload = stripe_api.event("charge.refunded", {"id": "ch_1", "object": "charge"})

    response = await post_event(client, payload)

    assert response.status_code == 200 and response.json() == {"success": True, "received": True}
    assert stripe_api.requests == []


async def test_event_about_a_subscription_stripe_does_not_have_is_acknowledged(client, db, stripe_api):
    payload = stripe_api.event(
        "customer.subscription.updated", {"id": "sub_unknown", "object": "subscription", "status": "active"}
    )

    response = await post_event(client, payload)

    assert response.status_code == 200
    assert [r.path for r in stripe_api.requests] == ["/v1/subscriptions/sub_unknown"]
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 0
