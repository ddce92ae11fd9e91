"""Matches and likes, quiet hours: a match is pushed to the one who did not make it, a like
names the admirer only to premium members, and quiet hours delay matches and messages but drop
likes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deployments.push.service import quiet_until
from tests.chat.conftest import make_match
from tests.factories import make_member
from tests.push.conftest import drain, register
from tests.push.test_delivery import send


async def swipe(live, user, target, action="like"):
    response = await live.http.post(
        "/api/v1/matching/swipe", headers=user.headers, json={"target_user_id": str(target.id), "action": action}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _quiet_now() -> dict:
    now = datetime.now(UTC)
    return {
        "quiet_hours_start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "quiet_hours_end": (now + timedelta(hours=1)).strftime("%H:%M"),
        "timezone": "UTC",
    }


async def test_a_like_names_nobody_to_a_free_member_and_the_admirer_to_a_premium_one(live, db, apns):
    alex = await make_member(live.http, live.outbox, first_name="Alex")
    free, premium = (await make_member(live.http, live.outbox), await make_member(live.http, live.outbox))
    await db.execute(
        "INSERT INTO subscriptions (user_id, plan_type, status) VALUES ($1, 'premium_monthly', 'active')", premium.id
    )
    for user in (free, premium):
        await register(live, user, token=str(user.id).replace("-", "") * 2)
        await swipe(live, alex, user)
    await drain(live)
    alerts = {p["token"]: p["payload"] for p in apns.received}
    teaser = alerts[str(free.id).replace("-", "") * 2]
    assert teaser["aps"]["alert"] == {"title": "New like", "body": "Someone liked you"}
    assert "Alex" not in str(teaser) and str(alex.id) not in str(teaser)
    named = alerts[str(premium.id).replace("-", "") * 2]
    assert named["aps"]["alert"]["body"] == "Alex liked you" and named["user_id"] == str(alex.id)


async def test_a_match_is_pushed_to_the_one_who_liked_first_only(live, db, apns):
    alex = await make_member(live.http, live.outbox, first_name="Alex")
    casey = await make_member(live.http, live.outbox, first_name="Casey")
    await register(live, alex, token="4" * 64)
    await register(live, casey, token="5" * 64)
    await swipe(live, alex, casey)
    await drain(live)  # casey: a like
    outcome = await swipe(live, casey, alex)  # casey sees the match in this answer
    assert outcome["is_match"] is True
    await drain(live)
    pushes = [(p["token"], p["payload"]["type"], p["payload"]["aps"]["alert"]["body"]) for p in apns.received]
    assert pushes == [("5" * 64, "new_like", "Someone liked you"), ("4" * 64, "new_match", "You matched with Casey")]


async def test_quiet_hours_delay_a_message_and_drop_a_like(live, db, apns):
    alex = await make_member(live.http, live.outbox)
    casey = await make_member(live.http, live.outbox)
    match_id = await make_match(db, alex, casey)
    await register(live, casey)
    quiet = await live.http.put("/api/v1/notifications/settings", headers=casey.headers, json=_quiet_now())
    assert quiet.status_code == 200, quiet.text
    await send(live, alex, match_id)
    drew = await make_member(live.http, live.outbox)
    await swipe(live, drew, casey)
    await drain(live)
    assert apns.received == []
    [(kind, not_before)] = await db.fetch("SELECT kind, not_before FROM push_outbox")
    assert kind == "new_message" and not_before > datetime.now(UTC) + timedelta(minutes=30)  # kept for later
    await live.http.put("/api/v1/notifications/settings", headers=casey.headers, json={})
    await db.execute("UPDATE push_outbox SET not_before = now() - interval '1 second'")  # the window ended
    await drain(live)
    assert [p["payload"]["type"] for p in apns.received] == ["new_message"]


def test_quiet_hours_may_span_midnight_in_the_users_zone():
    start, end = datetime(2026, 1, 1, 22).time(), datetime(2026, 1, 1, 7).time()
    late = datetime(2026, 1, 1, 22, 30, tzinfo=UTC)  # 23:30 in Berlin (UTC+1 in winter)
    assert quiet_until(start, end, "Europe/Berlin", late) == datetime(2026, 1, 2, 6, 0, tzinfo=UTC)
    assert quiet_until(start, end, "Europe/Berlin", datetime(2026, 1, 1, 12, tzinfo=UTC)) is None
    assert quiet_until(None, None, "UTC", late) is None
