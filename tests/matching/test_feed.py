"""GET /api/v1/matching/feed: who appears, in what order, and what a card carries."""

from __future__ import annotations

from tests.factories import login
from tests.matching.conftest import born, here, ids, prefs

NEAR = here(40.75, -73.99)  # ~4 km from the default NYC location
FAR = here(40.95, -73.80)  # ~31 km away
ABROAD = here(51.5074, -0.1278)


async def test_a_card_has_the_seed_shape_and_no_location_or_phone(member, feed, db):
    viewer = await member(interests=["travel", "jazz"])
    other = await member(
        first_name="Jane", bio="Designer", birth_date=born(28), location=NEAR, interests=["art", "travel"]
    )
    await db.execute(
        "INSERT INTO profile_photos (user_id, photo_url, is_primary, order_index) VALUES "
        "($1, 'https://cdn/b.jpg', false, 0), ($1, 'https://cdn/a.jpg', true, 1), "
        "($1, 'https://cdn/c.jpg', false, 2)",
        other.id,
    )
    [card] = await feed(viewer)
    assert set(card) == {"id", "first_name", "age", "bio", "distance_km", "photos", "interests", "mutual_interests"}
    assert card["id"] == str(other.id) and card["first_name"] == "Jane" and card["age"] == 28
    assert card["bio"] == "Designer" and card["interests"] == ["art", "travel"]
    assert card["mutual_interests"] == ["travel"]
    assert card["photos"] == ["https://cdn/a.jpg", "https://cdn/b.jpg", "https://cdn/c.jpg"]
    assert isinstance(card["distance_km"], int) and 3 <= card["distance_km"] <= 6
    assert other.phone not in str(card) and "40.75" not in str(card)


async def test_distance_is_a_whole_number_of_at_least_one_km(member, feed):
    viewer = await member()
    await member(location=here(40.7129, -74.0061))  # a few metres away
    [card] = await feed(viewer)
    assert card["distance_km"] == 1


async def test_you_never_see_yourself_and_an_empty_feed_is_a_list(member, feed):
    viewer = await member()
    assert await feed(viewer) == []


async def test_both_distance_limits_apply(member, feed):
    viewer = await member(preferences=prefs(max_distance=20))
    near = await member(location=NEAR)
    await member(location=FAR)  # outside the viewer's 20 km
    picky = await member(location=NEAR, preferences=prefs(max_distance=1))  # the viewer is outside its 1 km
    await member(location=ABROAD)
    assert ids(await feed(viewer)) == [near.id]
    assert ids(await feed(picky)) == [near.id]  # near shares its cell; the viewer is 4 km away


async def test_both_age_ranges_apply(member, feed):
    viewer = await member(birth_date=born(30), preferences=prefs(age_min=25, age_max=35))
    fits = await member(birth_date=born(29), location=NEAR)
    await member(birth_date=born(40), location=NEAR)  # too old for the viewer
    await member(birth_date=born(28), location=NEAR, preferences=prefs(age_min=18, age_max=27))  # viewer too old
    assert ids(await feed(viewer)) == [fits.id]


async def test_show_me_is_respected_both_ways(member, feed):
    man = await member(gender="male", preferences=prefs(show_me="women"))
    woman_for_men = await member(gender="female", location=NEAR, preferences=prefs(show_me="men"))
    await member(gender="female", location=NEAR, preferences=prefs(show_me="women"))  # does not want men
    await member(gender="male", location=NEAR, preferences=prefs(show_me="everyone"))  # not a woman
    assert ids(await feed(man)) == [woman_for_men.id]


async def test_non_binary_people_are_shown_only_to_everyone_seekers(member, feed):
    nb = await member(gender="non_binary", location=NEAR)
    seeks_everyone = await member(gender="female")
    seeks_women = await member(gender="female", preferences=prefs(show_me="women"))
    assert nb.id in ids(await feed(seeks_everyone))
    assert nb.id not in ids(await feed(seeks_women))
    assert seeks_women.id not in ids(await feed(nb))  # she only wants women


async def test_swiped_blocked_and_matched_people_are_never_shown(member, feed, swipe, block):
    viewer = await member()
    liked, passed, blocked, blocker, matched, fresh = [await member(location=NEAR) for _ in range(6)]
    assert (await swipe(viewer, liked, "like")).status_code == 200
    assert (await swipe(viewer, passed, "pass")).status_code == 200
    await block(viewer, blocked)
    await block(blocker, viewer)
    await swipe(matched, viewer, "like")
    assert (await swipe(viewer, matched, "like")).json()["is_match"] is True
    assert ids(await feed(viewer)) == [fresh.id]
    assert viewer.id not in ids(await feed(blocker)) and viewer.id not in ids(await feed(blocked))


async def test_incomplete_banned_hidden_and_deleted_profiles_are_never_shown(member, feed, client, settings, db):
    viewer = await member()
    visible = await member(location=NEAR)
    for column in ("banned_at", "hidden_at", "deleted_at"):
        gone = await member(location=NEAR)
        await db.execute(f"UPDATE users SET {column} = now() WHERE id = $1", gone.id)
    no_location = await login(client, settings.sms_outbox)
    await client.put(
        "/api/v1/profile/me",
        headers=no_location.headers,
        json={"first_name": "Ann", "birth_date": born(30), "gender": "female"},
    )
    assert ids(await feed(viewer)) == [visible.id]


async def test_a_viewer_without_a_complete_profile_gets_a_422(client, settings):
    user = await login(client, settings.sms_outbox)
    response = await client.get("/api/v1/matching/feed", headers=user.headers)
    assert response.status_code == 422 and response.json()["error"]["code"] == "profile_incomplete"


async def test_limit_defaults_to_20_and_is_capped_at_50(member, feed, client):
    viewer = await member()
    for _ in range(22):
        await member(location=NEAR)
    assert len(await feed(viewer)) == 20
    assert len(await feed(viewer, limit=5)) == 5
    too_many = await client.get("/api/v1/matching/feed", params={"limit": 51}, headers=viewer.headers)
    assert too_many.status_code == 422


async def test_the_feed_needs_a_login(client):
    assert (await client.get("/api/v1/matching/feed")).status_code == 401


async def test_closer_people_with_shared_interests_rank_first(member, feed):
    viewer = await member(interests=["climbing", "jazz", "chess"])
    far_no_common = await member(location=here(40.95, -73.75), interests=["golf"])
    near_common = await member(location=here(40.72, -74.00), interests=["jazz", "chess"])
    far_common = await member(location=here(40.95, -73.75), interests=["jazz", "chess", "climbing"])
    order = ids(await feed(viewer))
    assert order.index(near_common.id) < order.index(far_no_common.id)
    assert order.index(far_common.id) < order.index(far_no_common.id)


async def test_someone_who_already_liked_you_gets_a_boost(member, feed, swipe):
    viewer = await member()
    twins = [await member(location=NEAR) for _ in range(2)]
    baseline = ids(await feed(viewer))
    last = next(t for t in twins if t.id == baseline[-1])
    assert (await swipe(last, viewer, "like")).status_code == 200
    assert ids(await feed(viewer))[0] == last.id


async def test_a_profile_change_shows_up_after_the_index_refresh(member, feed, client):
    viewer = await member()
    mover = await member(location=ABROAD)
    assert await feed(viewer) == []  # loads the index
    moved = await client.put("/api/v1/profile/me", headers=mover.headers, json={"location": NEAR})
    assert moved.status_code == 200
    assert ids(await feed(viewer)) == [mover.id]  # the incremental refresh picked up the move
    await client.put("/api/v1/profile/me", headers=mover.headers, json={"bio": "new bio", "location": ABROAD})
    assert await feed(viewer) == []


async def test_a_ban_hides_someone_even_before_the_index_refreshes(member, feed, db):
    viewer = await member()
    other = await member(location=NEAR)
    assert ids(await feed(viewer)) == [other.id]
    await db.execute("UPDATE users SET banned_at = now() WHERE id = $1", other.id)
    assert await feed(viewer, refresh=False) == []  # cards are re-checked when they are filled in


async def test_any_number_of_partitions_gives_the_same_feed(member, feed, settings):
    viewer = await member(interests=["jazz"])
    for i in range(12):
        await member(location=here(40.70 + i * 0.01, -74.0), interests=["jazz"] if i % 3 else ["golf"])
    settings.feed_partitions = 1
    whole = ids(await feed(viewer))
    settings.feed_partitions, settings.feed_split_min_candidates = 5, 0  # always split
    assert ids(await feed(viewer)) == whole and len(whole) == 12
