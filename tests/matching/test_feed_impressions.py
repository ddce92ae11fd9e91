"""Feed impressions: every feed page records which candidates it showed to whom (safety reads them
to decide who could have met whom)."""

from __future__ import annotations

import uuid

from tests.matching.conftest import ids


async def shown(db, viewer) -> set[uuid.UUID]:
    rows = await db.fetch("SELECT candidate_id FROM feed_impressions WHERE viewer_id = $1", viewer.id)
    return {r["candidate_id"] for r in rows}


async def test_a_feed_page_records_exactly_the_candidates_it_showed(member, feed, db):
    viewer = await member()
    others = [await member() for _ in range(4)]
    page = ids(await feed(viewer, limit=2))
    assert len(page) == 2
    assert await shown(db, viewer) == set(page)
    assert await db.fetchval("SELECT count(*) FROM feed_impressions WHERE viewer_id <> $1", viewer.id) == 0
    assert set(page) <= {o.id for o in others}


async def test_showing_someone_again_keeps_the_first_time(member, feed, db):
    viewer, candidate = await member(), await member()
    await feed(viewer)
    await db.execute("UPDATE feed_impressions SET first_shown_at = now() - interval '3 days'")
    assert candidate.id in ids(await feed(viewer))
    assert await db.fetchval("SELECT count(*) FROM feed_impressions WHERE viewer_id = $1", viewer.id) == 1
    assert await db.fetchval(
        "SELECT first_shown_at < now() - interval '2 days' FROM feed_impressions WHERE viewer_id = $1", viewer.id
    )


async def test_an_empty_feed_records_nothing(member, feed, db):
    loner = await member()
    assert await feed(loner) == []
    assert await db.fetchval("SELECT count(*) FROM feed_impressions") == 0


async def test_a_candidate_dropped_before_the_page_is_built_is_not_recorded(member, feed, db):
    """Banned after the ranker's index last refreshed: not on the page, so not an impression."""
    viewer, banned, kept = await member(), await member(), await member()
    await feed(viewer, refresh=True)
    await db.execute("DELETE FROM feed_impressions")
    await db.execute("UPDATE users SET banned_at = now() WHERE id = $1", banned.id)
    page = ids(await feed(viewer, refresh=False))
    assert page == [kept.id] and await shown(db, viewer) == {kept.id}
