"""GET/PUT /api/v1/profile/me: partial updates, validation, and fields nobody may set."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import login, profile_body


async def test_a_new_user_has_an_empty_incomplete_profile_with_default_preferences(client, settings):
    user = await login(client, settings.sms_outbox)
    r = await client.get("/api/v1/profile/me", headers=user.headers)
    assert r.status_code == 200
    profile = r.json()["profile"]
    assert profile["id"] == str(user.id) and profile["first_name"] is None and profile["photos"] == []
    assert profile["is_complete"] is False
    assert profile["preferences"] == {"max_distance": 50, "age_min": 18, "age_max": 100, "show_me": "everyone"}


async def test_put_accepts_the_seed_body_and_get_returns_it(client, settings):
    user = await login(client, settings.sms_outbox)
    put = await client.put("/api/v1/profile/me", json=profile_body(), headers=user.headers)
    assert put.status_code == 200
    assert put.json()["success"] is True and put.json()["message"] == "Profile updated successfully"
    profile = (await client.get("/api/v1/profile/me", headers=user.headers)).json()["profile"]
    assert profile["first_name"] == "Alex" and profile["birth_date"] == "1995-05-15"
    assert profile["location"] == {"latitude": 40.7128, "longitude": -74.006}
    assert profile["interests"] == ["music", "travel"] and profile["is_complete"] is True  # alphabetical
    assert profile["preferences"]["age_max"] == 99


async def test_omitted_fields_keep_their_values(client, settings):
    user = await login(client, settings.sms_outbox)
    await client.put("/api/v1/profile/me", json=profile_body(), headers=user.headers)
    await client.put("/api/v1/profile/me", json={"bio": "New bio"}, headers=user.headers)
    profile = (await client.get("/api/v1/profile/me", headers=user.headers)).json()["profile"]
    assert (
        profile["bio"] == "New bio" and profile["first_name"] == "Alex" and profile["interests"] == ["music", "travel"]
    )
    assert profile["preferences"]["max_distance"] == 50


async def test_interests_are_normalised_and_deduplicated(client, settings):
    user = await login(client, settings.sms_outbox)
    r = await client.put(
        "/api/v1/profile/me", json={"interests": ["Music", " music ", "Rock  Climbing"]}, headers=user.headers
    )
    assert r.json()["profile"]["interests"] == ["music", "rock climbing"]


@pytest.mark.parametrize(
    "body",
    [
        {"first_name": ""},
        {"first_name": "   "},
        {"first_name": "x" * 51},
        {"bio": "x" * 501},
        {"gender": "robot"},
        {"preferences": {"show_me": "robots"}},
        {"location": {"latitude": 91, "longitude": 0}},
        {"location": {"latitude": 0, "longitude": 181}},
        {"preferences": {"age_min": 17}},
        {"preferences": {"age_max": 101}},
        {"preferences": {"max_distance": 0}},
        {"preferences": {"max_distance": 10000}},
        {"interests": ["x" * 51]},
    ],
)
async def test_invalid_values_are_a_clear_422(client, settings, body):
    user = await login(client, settings.sms_outbox)
    r = await client.put("/api/v1/profile/me", json=body, headers=user.headers)
    assert r.status_code == 422
    assert r.json()["success"] is False and r.json()["error"]["code"] == "validation_error"
    assert r.json()["error"]["message"]


@pytest.mark.parametrize(
    "body, code",
    [
        ({"birth_date": date(date.today().year - 17, 1, 1).isoformat()}, "invalid_birth_date"),
        ({"birth_date": "1800-01-01"}, "invalid_birth_date"),
        ({"preferences": {"age_min": 40, "age_max": 30}}, "invalid_age_range"),
    ],
)
async def test_rules_a_schema_cannot_state_have_their_own_codes(client, settings, body, code):
    user = await login(client, settings.sms_outbox)
    r = await client.put("/api/v1/profile/me", json=body, headers=user.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text


async def test_age_min_above_a_stored_age_max_is_refused(client, settings):
    user = await login(client, settings.sms_outbox)
    await client.put("/api/v1/profile/me", json={"preferences": {"age_min": 20, "age_max": 30}}, headers=user.headers)
    r = await client.put("/api/v1/profile/me", json={"preferences": {"age_min": 35}}, headers=user.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_age_range"


@pytest.mark.parametrize("field", ["is_verified", "phone_number", "id", "user_id", "is_moderator", "banned_at"])
async def test_unknown_or_privileged_fields_are_refused_and_never_applied(client, settings, db, field):
    user = await login(client, settings.sms_outbox)
    r = await client.put("/api/v1/profile/me", json={"first_name": "Eve", field: True}, headers=user.headers)
    assert r.status_code == 422
    row = await db.fetchrow("SELECT phone_number, is_moderator FROM users WHERE id = $1", user.id)
    assert row["phone_number"] == user.phone and row["is_moderator"] is False
    assert await db.fetchval("SELECT first_name FROM user_profiles WHERE user_id = $1", user.id) is None


async def test_profile_requires_authentication(client):
    r = await client.get("/api/v1/profile/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_token"
