"""GET /api/v1/account/export: every record the member has, once a day."""

from __future__ import annotations

from tests.account.conftest import everything


async def test_the_export_holds_every_record_of_the_member(live, db):
    world = await everything(live, db)
    device = {"platform": "ios", "token": "a1" * 32, "app_version": "1.0", "locale": "en-US"}
    assert (await live.http.post("/api/v1/devices", json=device, headers=world.me.headers)).status_code < 300
    quiet = {"message_previews": True}
    assert (
        await live.http.put("/api/v1/notifications/settings", json=quiet, headers=world.me.headers)
    ).status_code == 200
    response = await live.http.get("/api/v1/account/export", headers=world.me.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    me = str(world.me.id)
    assert body["account"]["id"] == me and body["account"]["phone_number"] == world.me.phone
    assert body["profile"]["first_name"] == "Mira" and body["profile"]["max_distance"] == 50
    assert len(body["photos"]) == 1 and body["photos"][0]["url"].startswith("http")
    assert {i["interest_name"] for i in body["interests"]} == {"travel", "music"}
    assert [(s["swiped_id"], s["action"]) for s in body["swipes"]] == [(str(world.partner.id), "like")]
    assert [m["other_user_id"] for m in body["matches"]] == [str(world.partner.id)]
    assert {(m["content"], m["direction"]) for m in body["messages"]} == {
        ("hi from me", "sent"),
        ("hi from partner", "received"),
    }
    # Reporting someone also blocks them.
    assert {b["blocked_id"] for b in body["blocks"]} == {str(world.blocked.id), str(world.seen.id)}
    assert [r["reported_user_id"] for r in body["reports_filed"]] == [str(world.seen.id)]  # not the one about them
    assert len(body["sessions"]) == 1 and "refresh_jti_hash" not in body["sessions"][0]
    assert [s["provider_subscription_id"] for s in body["subscriptions"]] == [world.subscription_id]
    assert [d["token"] for d in body["push_devices"]] == [device["token"]]
    assert body["notification_settings"][0]["message_previews"] is True
    shown = {f["candidate_id"] for f in body["feed_impressions"]}
    assert shown and me not in shown
    for table, key in (
        ("user_interests", "user_id"),
        ("swipes", "swiper_id"),
        ("blocks", "blocker_id"),
        ("auth_sessions", "user_id"),
        ("subscriptions", "user_id"),
        ("feed_impressions", "viewer_id"),
        ("profile_photos", "user_id"),
    ):
        assert await db.fetchval(f"SELECT count(*) FROM {table} WHERE {key} = $1", world.me.id) > 0, table


async def test_one_export_a_day(live, db):
    world = await everything(live, db)
    assert (await live.http.get("/api/v1/account/export", headers=world.me.headers)).status_code == 200
    again = await live.http.get("/api/v1/account/export", headers=world.me.headers)
    assert again.status_code == 429
    assert again.json()["error"]["code"] == "export_limit_reached"
    assert int(again.headers["retry-after"]) > 0
