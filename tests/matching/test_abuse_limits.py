"""Hourly limits on feed pages (nobody pages through the whole user base) and on location changes
(nobody walks a pattern of positions around someone to pin their grid cell)."""

from __future__ import annotations

import pytest

from deployments.matching.geo import KM_PER_DEG_LAT
from tests.matching.conftest import NYC, here


@pytest.fixture
def limits(app, settings):
    def set_limits(**values) -> None:
        app.state.resources.settings = settings.model_copy(update=values)

    return set_limits


def assert_rate_limited(response, code: str) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 3600 and body["error"]["retry_after"] == retry


async def get_feed(client, user):
    return await client.get("/api/v1/matching/feed", headers=user.headers)


async def move(client, user, lat: float, lon: float, **other):
    return await client.put("/api/v1/profile/me", headers=user.headers, json={"location": here(lat, lon), **other})


def km_north(km: float) -> float:
    return NYC[0] + km / KM_PER_DEG_LAT


# --- feed pages ------------------------------------------------------------------------------------


async def test_feed_pages_past_the_hourly_limit_are_refused_with_retry_after(member, client, limits):
    limits(rate_feed_pages_per_hour=3)
    user = await member()
    assert [(await get_feed(client, user)).status_code for _ in range(3)] == [200, 200, 200]
    assert_rate_limited(await get_feed(client, user), "feed_limit_reached")


async def test_one_user_at_the_feed_limit_does_not_affect_another(member, client, limits):
    limits(rate_feed_pages_per_hour=2)
    scraper, neighbour = await member(), await member()
    for _ in range(3):
        await get_feed(client, scraper)
    assert (await get_feed(client, scraper)).status_code == 429
    assert (await get_feed(client, neighbour)).status_code == 200


async def test_a_refused_feed_page_records_no_impression(member, client, limits, db):
    limits(rate_feed_pages_per_hour=1)
    user, _ = await member(), await member()
    await get_feed(client, user)
    await db.execute("DELETE FROM feed_impressions")
    assert (await get_feed(client, user)).status_code == 429
    assert await db.fetchval("SELECT count(*) FROM feed_impressions") == 0


# --- location changes ------------------------------------------------------------------------------


async def test_location_changes_past_the_hourly_limit_are_refused_and_not_applied(member, client, limits):
    limits(rate_location_updates_per_hour=2)
    user = await member()  # setting the first location spent one
    assert (await move(client, user, km_north(5), NYC[1])).status_code == 200
    refused = await move(client, user, km_north(10), NYC[1], bio="moved again")
    assert_rate_limited(refused, "location_limit_reached")
    profile = (await client.get("/api/v1/profile/me", headers=user.headers)).json()["profile"]
    assert profile["location"]["latitude"] == pytest.approx(km_north(5)) and profile["bio"] != "moved again"


async def test_updates_without_a_location_change_do_not_count(member, client, limits):
    limits(rate_location_updates_per_hour=2)
    user = await member()
    for n in range(5):
        assert (
            await client.put("/api/v1/profile/me", headers=user.headers, json={"bio": f"bio {n}"})
        ).status_code == 200
        assert (await move(client, user, *NYC)).status_code == 200  # the same place again
    assert (await move(client, user, km_north(5), NYC[1])).status_code == 200


async def test_moves_within_the_same_grid_cell_do_not_count(member, client, limits, settings):
    """Inside a cell nothing anyone can see changes, and GPS jitter must not spend the budget."""
    limits(rate_location_updates_per_hour=2)
    user = await member()
    for step in range(5):
        jitter = (step % 2) * 0.00001  # about a metre
        assert (await move(client, user, NYC[0] + jitter, NYC[1])).status_code == 200
    assert (await move(client, user, km_north(5), NYC[1])).status_code == 200
    assert (await move(client, user, km_north(10), NYC[1])).status_code == 429


async def test_one_user_at_the_location_limit_does_not_affect_another(member, client, limits):
    limits(rate_location_updates_per_hour=2)
    walker, neighbour = await member(), await member()
    await move(client, walker, km_north(5), NYC[1])
    assert (await move(client, walker, km_north(10), NYC[1])).status_code == 429
    assert (await move(client, neighbour, km_north(5), NYC[1])).status_code == 200
