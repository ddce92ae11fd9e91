"""Account tests: a live server (real websockets), the fake Stripe, and a member with one of
every kind of record."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from deployments.billing.plans import PLANS
from tests.chat.conftest import Live, connect, serving_live
from tests.factories import TestUser, login, make_member
from tests.fakes.stripe_api import FakeStripe, StripeServer
from tests.photos.conftest import jpeg_bytes


@pytest.fixture
def stripe_api() -> FakeStripe:
    with StripeServer() as fake:
        for plan in PLANS.values():
            fake.add_price(plan.id, plan.amount_cents, plan.interval, plan.currency)
        yield fake


@pytest.fixture
def settings(settings, stripe_api):
    # No purge loop: the tests run the purge themselves.
    return settings.model_copy(
        update={
            "stripe_secret_key": "sk_test_fake123",
            "stripe_api_base": stripe_api.url,
            "purge_interval_s": 0,
            "otp_resend_cooldown_s": 0,
        }
    )


@pytest.fixture
async def live(settings):
    async with serving_live(settings) as served:
        yield served


@pytest.fixture
async def sockets():
    opened = []
    yield opened
    for sock in opened:
        await sock.close()


@dataclass
class Everything:
    """A member with one of every kind of record, and the people around them."""

    me: TestUser
    partner: TestUser
    seen: TestUser
    blocked: TestUser
    reporter: TestUser
    match_id: uuid.UUID
    keys: list[str]
    subscription_id: str


async def everything(live: Live, db) -> Everything:
    http, outbox = live.http, live.outbox
    me = await make_member(http, outbox, first_name="Mira")
    partner = await make_member(http, outbox, first_name="Paul")
    seen = await make_member(http, outbox, first_name="Sena")
    blocked = await make_member(http, outbox, first_name="Bo")
    reporter = await make_member(http, outbox, first_name="Rae")
    upload = await http.post(
        "/api/v1/profile/photos",
        headers=me.headers,
        data={"is_primary": "true"},
        files={"photo": ("me.jpg", jpeg_bytes(), "image/jpeg")},
    )
    assert upload.status_code in (200, 201), upload.text
    feed = await http.get("/api/v1/matching/feed", params={"limit": 20}, headers=me.headers)
    assert feed.status_code == 200, feed.text  # feed impressions
    for a, b in ((me, partner), (partner, me)):
        swipe = await http.post(
            "/api/v1/matching/swipe", headers=a.headers, json={"target_user_id": str(b.id), "action": "like"}
        )
        assert swipe.status_code == 200, swipe.text
    match_id = uuid.UUID(swipe.json()["match_id"])
    for sender, text in ((me, "hi from me"), (partner, "hi from partner")):
        sent = await http.post(
            "/api/v1/messages/send",
            headers=sender.headers,
            json={"match_id": str(match_id), "content": text, "message_type": "text"},
        )
        assert sent.status_code in (200, 201), sent.text
    assert (
        await http.post("/api/v1/safety/block", headers=me.headers, json={"user_id": str(blocked.id)})
    ).status_code in (200, 201)
    for who, whom in ((me, seen), (reporter, me)):
        filed = await http.post(
            "/api/v1/safety/report", headers=who.headers, json={"reported_user_id": str(whom.id), "reason": "spam"}
        )
        assert filed.status_code in (200, 201), filed.text
    subscribed = await http.post(
        "/api/v1/billing/subscribe",
        headers=me.headers,
        json={"plan_id": "premium_monthly", "payment_method": {"type": "card", "token": "tok_visa"}},
    )
    assert subscribed.status_code in (200, 201), subscribed.text
    sub_id = await db.fetchval("SELECT provider_subscription_id FROM subscriptions WHERE user_id = $1", me.id)
    keys = [
        k
        for row in await db.fetch("SELECT storage_key, thumbnail_key FROM profile_photos WHERE user_id = $1", me.id)
        for k in row
        if k
    ]
    assert keys
    return Everything(me, partner, seen, blocked, reporter, match_id, keys, sub_id)


__all__ = ["Everything", "connect", "everything", "login"]
