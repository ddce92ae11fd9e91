"""All SQL of the matching domain. Per request this touches only the caller's own rows
(profile, swipes, blocks, matches) and the final page of cards, never the whole table."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import LazyPool, Row, fetch_raw
from models import Block, Match, ProfilePhoto, Swipe, User, UserProfile, canonical_pair
from models.profile import complete_sql

_ACTIVE_USER = "u.banned_at IS NULL AND u.hidden_at IS NULL AND u.deleted_at IS NULL"

_INTERESTS = (
    "ARRAY(SELECT i.interest_name FROM user_interests i WHERE i.user_id = p.user_id "
    "ORDER BY i.created_at, i.interest_name) AS interests"
)
_VIEWER = text(f"""
SELECT p.*, {_INTERESTS},
       ARRAY(SELECT swiped_id FROM swipes WHERE swiper_id = :me
             UNION SELECT blocked_id FROM blocks WHERE blocker_id = :me
             UNION SELECT blocker_id FROM blocks WHERE blocked_id = :me
             UNION SELECT user2_id FROM matches WHERE user1_id = :me
             UNION SELECT user1_id FROM matches WHERE user2_id = :me) AS exclude
  FROM user_profiles p WHERE p.user_id = :me
""")

_PHOTO_ORDER = (
    "FROM profile_photos ph WHERE ph.user_id = p.user_id ORDER BY ph.is_primary DESC, ph.order_index, ph.created_at"
)
# The page's cards, and (same round trip) a feed impression for each card the page will show:
# the first `:shown` eligible ids in ranking order, exactly what `MatchingService._cards` keeps.
# Rows go in candidate order, so two concurrent pages of one viewer take their row locks in the
# same order and cannot deadlock; a repeat keeps the first `first_shown_at`.
_CARDS = text(f"""
WITH cards AS (
SELECT p.user_id, p.first_name, p.birth_date, p.bio, {_INTERESTS},
       ARRAY(SELECT ph.photo_url {_PHOTO_ORDER}) AS photo_urls,
       ARRAY(SELECT ph.storage_key {_PHOTO_ORDER}) AS photo_keys
  FROM user_profiles p JOIN users u ON u.id = p.user_id
 WHERE p.user_id = ANY(:ids) AND {_ACTIVE_USER} AND {complete_sql("p")} AND p.discoverable
), impressions AS (
INSERT INTO feed_impressions (viewer_id, candidate_id)
SELECT CAST(:viewer AS uuid), s.user_id
  FROM (SELECT c.user_id FROM cards c ORDER BY array_position(CAST(:ids AS uuid[]), c.user_id) LIMIT :shown) s
 ORDER BY s.user_id
ON CONFLICT DO NOTHING
)
SELECT * FROM cards
""")

_MATCHES = text("""
SELECT m.id, m.matched_at, o.other_id, p.first_name,
       lm.id AS lm_id, lm.content, lm.message_type, lm.sender_id, lm.sent_at,
       (SELECT count(*) FROM messages x
         WHERE x.match_id = m.id AND x.sender_id <> :me AND NOT x.is_read) AS unread
  FROM matches m
  CROSS JOIN LATERAL (SELECT CASE WHEN m.user1_id = :me THEN m.user2_id ELSE m.user1_id END AS other_id) o
  JOIN users u ON u.id = o.other_id AND u.banned_at IS NULL AND u.deleted_at IS NULL
  LEFT JOIN user_profiles p ON p.user_id = o.other_id
  LEFT JOIN LATERAL (SELECT id, content, message_type, sender_id, sent_at FROM messages
                      WHERE match_id = m.id ORDER BY seq DESC LIMIT 1) lm ON true
 WHERE (m.user1_id = :me OR m.user2_id = :me) AND m.is_active
 ORDER BY coalesce(m.last_message_at, m.matched_at) DESC, m.id DESC
 LIMIT :limit OFFSET :offset
""")

# `_MATCHES` for the raw pool, with the other person's photos in the same round trip.
_MATCHES_PAGE = (
    _MATCHES.text.replace(":me", "$1")
    .replace(":limit", "$2")
    .replace(":offset", "$3")
    .replace(
        "AS unread\n",
        "AS unread,\n       ARRAY(SELECT ROW(ph.photo_url, ph.storage_key) FROM profile_photos ph"
        " WHERE ph.user_id = o.other_id ORDER BY ph.is_primary DESC, ph.order_index, ph.created_at) AS photo_rows\n",
    )
)

_ADMIRERS_FROM = f"""
  FROM swipes s JOIN users u ON u.id = s.swiper_id
 WHERE s.swiped_id = :me AND s.action = 'like' AND {_ACTIVE_USER}
   AND NOT EXISTS (SELECT 1 FROM swipes r WHERE r.swiper_id = :me AND r.swiped_id = s.swiper_id)
   AND NOT EXISTS (SELECT 1 FROM user_profiles ap WHERE ap.user_id = s.swiper_id AND NOT ap.discoverable)
   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = :me AND b.blocked_id = s.swiper_id)
                                          OR (b.blocker_id = s.swiper_id AND b.blocked_id = :me))
"""
_ADMIRERS = text(
    f"SELECT s.swiper_id, s.created_at {_ADMIRERS_FROM} "
    "ORDER BY s.created_at DESC, s.swiper_id LIMIT :limit OFFSET :offset"
)
_ADMIRER_COUNT = text(f"SELECT count(*) {_ADMIRERS_FROM}")

# Another user's profile as the caller may see it (GET /api/v1/profile/{user_id}): nothing when
# they are gone, banned, hidden, paused, incomplete or blocked either way; else their card's
# columns, why the caller may see them, and the caller's own location and interests.
_PERSON = text(f"""
SELECT p.user_id, p.first_name, p.birth_date, p.bio, p.latitude, p.longitude, {_INTERESTS},
       ARRAY(SELECT ph.photo_url {_PHOTO_ORDER}) AS photo_urls,
       ARRAY(SELECT ph.storage_key {_PHOTO_ORDER}) AS photo_keys,
       EXISTS (SELECT 1 FROM matches m WHERE m.user1_id = :first AND m.user2_id = :second AND m.is_active) AS matched,
       EXISTS (SELECT 1 FROM feed_impressions f WHERE f.viewer_id = :me AND f.candidate_id = :them) AS shown,
       (EXISTS (SELECT 1 FROM swipes s WHERE s.swiper_id = :them AND s.swiped_id = :me AND s.action = 'like')
        AND NOT EXISTS (SELECT 1 FROM swipes r WHERE r.swiper_id = :me AND r.swiped_id = :them)) AS admirer,
       v.latitude AS viewer_latitude, v.longitude AS viewer_longitude,
       ARRAY(SELECT i.interest_name FROM user_interests i WHERE i.user_id = :me) AS viewer_interests
  FROM user_profiles p JOIN users u ON u.id = p.user_id
  LEFT JOIN user_profiles v ON v.user_id = :me
 WHERE p.user_id = :them AND :them <> :me AND {_ACTIVE_USER} AND {complete_sql("p")} AND p.discoverable
   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = :me AND b.blocked_id = :them)
                                          OR (b.blocker_id = :them AND b.blocked_id = :me))
""")


class MatchingRepository:
    def __init__(self, session: AsyncSession, pg: LazyPool | None = None) -> None:
        self.session = session
        self.pg = pg  # the raw pool, for reads that need no transaction (`kit.db.fetch_raw`)

    # --- the caller -------------------------------------------------------------------------

    async def viewer(self, user_id: uuid.UUID):
        """The caller's profile, interests and exclusions (swiped, blocked either way, matched
        ever) in one round trip; None without a profile."""
        result = await self.session.execute(_VIEWER, {"me": user_id})
        return result.first()

    # --- cards ------------------------------------------------------------------------------

    async def cards(self, user_ids: list[uuid.UUID], viewer_id: uuid.UUID, shown: int) -> dict[uuid.UUID, Any]:
        """Profile columns, interests and photos (`photo_urls`/`photo_keys`, display order) of the
        given users (ranking order) who may still be shown (active, complete), in one round trip
        that also records the first `shown` of them as feed impressions of `viewer_id`."""
        result = await self.session.execute(_CARDS, {"ids": user_ids, "viewer": viewer_id, "shown": shown})
        return {row.user_id: row for row in result}

    async def photos_of(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ProfilePhoto]]:
        """Photos per user, primary first, then by order_index."""
        result = await self.session.execute(
            select(ProfilePhoto)
            .where(ProfilePhoto.user_id.in_(user_ids))
            .order_by(ProfilePhoto.is_primary.desc(), ProfilePhoto.order_index, ProfilePhoto.created_at)
        )
        out: dict[uuid.UUID, list[ProfilePhoto]] = defaultdict(list)
        for photo in result.scalars():
            out[photo.user_id].append(photo)
        return out

    async def profiles_of(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, UserProfile]:
        result = await self.session.execute(select(UserProfile).where(UserProfile.user_id.in_(user_ids)))
        return {p.user_id: p for p in result.scalars()}

    # --- swipes -----------------------------------------------------------------------------

    async def user(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def blocked_between(self, a: uuid.UUID, b: uuid.UUID) -> bool:
        result = await self.session.execute(
            select(func.count())
            .select_from(Block)
            .where(
                or_(
                    (Block.blocker_id == a) & (Block.blocked_id == b), (Block.blocker_id == b) & (Block.blocked_id == a)
                )
            )
        )
        return result.scalar_one() > 0

    async def lock_pair(self, a: uuid.UUID, b: uuid.UUID) -> None:
        """Serialise swipes between two people until commit, so a mutual like is seen by one of them."""
        first, second = canonical_pair(a, b)
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 1))"), {"key": f"pair:{first}:{second}"}
        )

    async def lock_user(self, user_id: uuid.UUID) -> None:
        """Serialise one user's likes until commit, so the daily count cannot be overrun."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 2))"), {"key": f"likes:{user_id}"}
        )

    async def swipe_action(self, swiper: uuid.UUID, swiped: uuid.UUID) -> str | None:
        result = await self.session.execute(
            select(Swipe.action).where(Swipe.swiper_id == swiper, Swipe.swiped_id == swiped)
        )
        return result.scalar_one_or_none()

    async def insert_swipe(self, swiper: uuid.UUID, swiped: uuid.UUID, action: str) -> datetime:
        result = await self.session.execute(
            insert(Swipe).values(swiper_id=swiper, swiped_id=swiped, action=action).returning(Swipe.created_at)
        )
        return result.scalar_one()

    async def has_liked(self, swiper: uuid.UUID, swiped: uuid.UUID) -> bool:
        result = await self.session.execute(
            select(func.count())
            .select_from(Swipe)
            .where(Swipe.swiper_id == swiper, Swipe.swiped_id == swiped, Swipe.action == "like")
        )
        return result.scalar_one() > 0

    async def likes_in_window(self, user_id: uuid.UUID) -> tuple[int, datetime | None]:
        """Likes in the rolling 24 h window and when the oldest of them was made."""
        result = await self.session.execute(
            select(func.count(), func.min(Swipe.created_at)).where(
                Swipe.swiper_id == user_id,
                Swipe.action == "like",
                Swipe.created_at > func.now() - text("interval '24 hours'"),
            )
        )
        count, oldest = result.one()
        return int(count), oldest

    async def last_swipe(self, user_id: uuid.UUID) -> Swipe | None:
        result = await self.session.execute(
            select(Swipe).where(Swipe.swiper_id == user_id).order_by(Swipe.created_at.desc(), Swipe.id.desc()).limit(1)
        )
        return result.scalar_one_or_none()

    async def delete_swipe(self, swipe_id: uuid.UUID) -> bool:
        result = await self.session.execute(delete(Swipe).where(Swipe.id == swipe_id).returning(Swipe.id))
        return result.scalar_one_or_none() is not None

    # --- matches ----------------------------------------------------------------------------

    async def match_for_pair(self, a: uuid.UUID, b: uuid.UUID) -> Match | None:
        first, second = canonical_pair(a, b)
        result = await self.session.execute(select(Match).where(Match.user1_id == first, Match.user2_id == second))
        return result.scalar_one_or_none()

    async def create_match(self, a: uuid.UUID, b: uuid.UUID) -> tuple[Match, bool]:
        """The pair's match, and whether this call created it (the unique pair makes it one row)."""
        first, second = canonical_pair(a, b)
        result = await self.session.execute(
            insert(Match)
            .values(user1_id=first, user2_id=second)
            .on_conflict_do_nothing(constraint="uq_matches_pair")
            .returning(Match.id)
        )
        created = result.scalar_one_or_none() is not None
        match = await self.match_for_pair(a, b)
        assert match is not None  # inserted above, or there already
        return match, created

    async def match_of(self, match_id: uuid.UUID, user_id: uuid.UUID) -> Match | None:
        """The match, only if the user takes part in it (anyone else gets None)."""
        result = await self.session.execute(
            select(Match)
            .where(Match.id == match_id, or_(Match.user1_id == user_id, Match.user2_id == user_id))
            .with_for_update()
        )
        return result.scalar_one_or_none()

    async def end_match(self, match_id: uuid.UUID, user_id: uuid.UUID, reason: str) -> None:
        await self.session.execute(
            update(Match)
            .where(Match.id == match_id, Match.is_active)
            .values(is_active=False, unmatched_at=func.now(), unmatched_by=user_id, end_reason=reason)
        )

    async def matches(self, user_id: uuid.UUID, limit: int, offset: int) -> list[Row]:
        """A page of `_MATCHES`, each with the other person's photos (`photo_rows`: display order,
        (photo_url, storage_key) pairs), in one statement."""
        return await fetch_raw(self.session, self.pg, _MATCHES_PAGE, user_id, limit, offset)

    # --- likes you --------------------------------------------------------------------------

    async def admirer_count(self, user_id: uuid.UUID) -> int:
        return int((await self.session.execute(_ADMIRER_COUNT, {"me": user_id})).scalar_one())

    async def admirers(self, user_id: uuid.UUID, limit: int, offset: int) -> list[tuple[uuid.UUID, datetime]]:
        result = await self.session.execute(_ADMIRERS, {"me": user_id, "limit": limit, "offset": offset})
        return [(row[0], row[1]) for row in result]

    # --- another person's profile -----------------------------------------------------------

    async def person(self, viewer_id: uuid.UUID, user_id: uuid.UUID):
        """`_PERSON`'s row for the viewer looking at `user_id`; None when nobody may see them."""
        first, second = canonical_pair(viewer_id, user_id)
        result = await self.session.execute(
            _PERSON, {"me": viewer_id, "them": user_id, "first": first, "second": second}
        )
        return result.first()
