from deployments.billing.plans import PREMIUM_FEATURES


async def test_plans_are_public_and_offer_premium_monthly_with_its_features(client):
    response = await client.get("/api/v1/billing/plans")

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    plans = {plan["id"]: plan for plan in body["plans"]}
    assert plans["premium_monthly"] == {
        "id": "premium_monthly",
        "name": "Premium Monthly",
        "price": 19.99,
        "currency": "usd",
        "interval": "month",
        "features": list(PREMIUM_FEATURES),
    }
    assert plans["premium_yearly"]["interval"] == "year"
    assert {"Unlimited likes", "See who liked you", "Rewind feature"} <= set(plans["premium_yearly"]["features"])
