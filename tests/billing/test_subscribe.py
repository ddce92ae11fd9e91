import asyncio
from datetime import UTC, datetime, timedelta

from tests.billing.helpers import is_premium, subscribe
from tests.factories import login
from tests.fakes.stripe_api import StripeFailure


async def test_subscribe_charges_through_stripe_and_makes_the_user_premium(app, client, settings, db, stripe_api):
    user = await login(client, settings.sms_outbox)
    assert not await is_premium(app, user.id)

    response = await subscribe(client, user)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    sub = body["subscription"]
    assert sub["status"] == "active" and sub["plan_id"] == "premium_monthly"
    expires = datetime.fromisoformat(sub["expires_at"])
    assert timedelta(days=27) < expires - datetime.now(UTC) < timedelta(days=32)
    assert await is_premium(app, user.id)
    row = await db.fetchrow("SELECT * FROM subscriptions WHERE user_id = $1", user.id)
    stripe_sub = stripe_api.subscriptions[row["provider_subscription_id"]]
    assert str(row["id"]) == sub["id"] and row["provider_customer_id"] == stripe_sub["customer"]
    assert row["status"] == "active" and row["plan_type"] == "premium_monthly"


async def test_subscribe_sends_stripe_a_card_customer_and_subscription(client, settings, stripe_api):
    user = await login(client, settings.sms_outbox)

    assert (await subscribe(client, user, token="tok_mastercard")).status_code == 200

    [method] = stripe_api.calls("POST", "/v1/payment_methods")[:1]
    assert method.params == {"type": "card", "card": {"token": "tok_mastercard"}}
    assert method.headers["authorization"] == "Bearer sk_test_fake123"
    [customer] = stripe_api.calls("POST", "/v1/customers")
    assert customer.params["metadata"] == {"user_id": str(user.id)}
    [created] = stripe_api.calls("POST", "/v1/subscriptions")
    assert created.params["items"] == [{"price": stripe_api.prices["premium_monthly"]["id"]}]
    assert created.params["payment_behavior"] == "error_if_incomplete"
    assert created.params["metadata"] == {"user_id": str(user.id), "plan_id": "premium_monthly"}
    assert created.headers.get("idempotency-key")


async def test_yearly_plan_runs_for_a_year(client, settings):
    user = await login(client, settings.sms_outbox)

    response = await subscribe(client, user, plan_id="premium_yearly")

    assert response.status_code == 200, response.text
    expires = datetime.fromisoformat(response.json()["subscription"]["expires_at"])
    assert timedelta(days=364) < expires - datetime.now(UTC) < timedelta(days=367)


async def test_declined_card_is_402_and_writes_nothing(app, client, settings, db, stripe_api):
    user = await login(client, settings.sms_outbox)

    response = await subscribe(client, user, token="tok_chargeDeclined")

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "payment_failed"
    assert "declined" in response.json()["error"]["message"]
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 0
    assert not await is_premium(app, user.id)
    assert stripe_api.customers == {}  # the customer made for this attempt was removed again


async def test_card_failing_its_first_charge_is_402_and_writes_nothing(client, settings, db, stripe_api):
    user = await login(client, settings.sms_outbox)

    response = await subscribe(client, user, token="tok_chargeCustomerFail")

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "payment_failed"
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 0
    assert stripe_api.subscriptions == {}


async def test_unknown_plan_is_422_and_never_reaches_stripe(client, settings, db, stripe_api):
    user = await login(client, settings.sms_outbox)

    response = await subscribe(client, user, plan_id="premium_forever")

    assert response.status_code == 422  # the schema's enum: the plans on sale
    assert response.json()["error"]["code"] == "validation_error" and "plan_id" in response.json()["error"]["message"]
    assert stripe_api.requests == []
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 0


async def test_payment_method_stripe_does_not_know_is_422(client, settings, db):
    user = await login(client, settings.sms_outbox)

    response = await subscribe(client, user, token="pm_doesnotexist")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_payment_method"
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 0


async def test_payment_method_other_than_card_is_rejected(client, settings, stripe_api):
    user = await login(client, settings.sms_outbox)

    response = await client.post(
        "/api/v1/billing/subscribe",
        headers=user.headers,
        json={"plan_id": "premium_monthly", "payment_method": {"type": "iou", "token": "x1"}},
    )

    assert response.status_code == 422
    assert stripe_api.requests == []


async def test_second_subscribe_while_active_is_409_and_charges_once(client, settings, db, stripe_api):
    user = await login(client, settings.sms_outbox)
    assert (await subscribe(client, user)).status_code == 200

    response = await subscribe(client, user, plan_id="premium_yearly")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_subscribed"
    assert len(stripe_api.calls("POST", "/v1/subscriptions")) == 1
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 1


async def test_two_simultaneous_subscribes_charge_once(client, settings, db, stripe_api):
    user = await login(client, settings.sms_outbox)

    responses = await asyncio.gather(subscribe(client, user), subscribe(client, user))

    assert sorted(r.status_code for r in responses) == [200, 409]
    assert len(stripe_api.subscriptions) == 1
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 1


async def test_subscribe_requires_a_logged_in_user(client, stripe_api):
    response = await client.post(
        "/api/v1/billing/subscribe",
        json={"plan_id": "premium_monthly", "payment_method": {"type": "card", "token": "tok_visa"}},
    )

    assert response.status_code == 401
    assert stripe_api.requests == []


async def test_stripe_outage_is_503_and_writes_nothing(client, settings, db, stripe_api):
    user = await login(client, settings.sms_outbox)
    stripe_api.fail_next("POST /v1/subscriptions", StripeFailure(500, "api_error", "Something went wrong"))

    response = await subscribe(client, user)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "billing_unavailable"
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 0


async def test_price_in_stripe_that_differs_from_the_plan_is_refused(client, settings, db, stripe_api):
    stripe_api.add_price("premium_monthly", 999, "month")
    user = await login(client, settings.sms_outbox)

    response = await subscribe(client, user)

    assert response.status_code == 503
    assert stripe_api.calls("POST", "/v1/") == []
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 0


async def test_subscribing_again_after_expiry_reuses_the_stripe_customer(app, client, settings, db, stripe_api):
    user = await login(client, settings.sms_outbox)
    assert (await subscribe(client, user)).status_code == 200
    await db.execute("UPDATE subscriptions SET expires_at = now() - interval '1 day' WHERE user_id = $1", user.id)
    assert not await is_premium(app, user.id)

    response = await subscribe(client, user)

    assert response.status_code == 200, response.text
    assert len(stripe_api.calls("POST", "/v1/customers")) == 1
    customers = await db.fetch("SELECT DISTINCT provider_customer_id FROM subscriptions WHERE user_id = $1", user.id)
    assert len(customers) == 1
    assert await is_premium(app, user.id)


async def test_current_subscription_is_null_until_subscribed(client, settings):
    user = await login(client, settings.sms_outbox)

    before = await client.get("/api/v1/billing/subscription", headers=user.headers)
    created = (await subscribe(client, user)).json()["subscription"]
    after = await client.get("/api/v1/billing/subscription", headers=user.headers)

    assert before.status_code == 200 and before.json() == {"success": True, "subscription": None}
    assert after.json()["subscription"] == created


async def test_current_subscription_requires_a_logged_in_user(client):
    assert (await client.get("/api/v1/billing/subscription")).status_code == 401
