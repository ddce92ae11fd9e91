"""Matching rules: the feed, swipes and matches, the like limit, premium features.

The feed is scored by the `FeedRanker` (in-process or Ray Serve replicas): the gateway asks
`feed_partitions` partitions in parallel and merges their top lists; its own SQL covers only
the viewer (profile, exclusions) and the final page of cards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from deployments.billing.service import PremiumStatus
from deployments.matching.geo import snapped_distance_km
from deployments.matching.repository import MatchingRepository
from deployments.matching.schemas import (
    Admirer,
    FeedCard,
    LastMessage,
    LikesYouResponse,
    MatchOut,
    MatchUser,
    PublicProfile,
    Rewound,
)
from deployments.profiles.schemas import age_on
from kit.errors import Conflict, Forbidden, NotFound, RateLimited, Unprocessable
from kit.settings import Settings
from models.profile import is_complete

PhotoUrl = Callable[[Any], str]  # a ProfilePhoto or a PhotoRef: what has photo_url and storage_key
LIKE_WINDOW = timedelta(hours=24)
HYDRATION_SLACK = 5  # extra candidates asked for, in case one was banned since the index refreshed


@dataclass
class SwipeOutcome:
    is_match: bool
    match_id: uuid.UUID | None = None
    recorded: bool = False  # a new swipe row was written (not an idempotent repeat)
    new_match: dict[str, Any] | None = None  # {"matched_at", "people": {user_id: person}} when created now


class PhotoRef(NamedTuple):
    """The two photo columns `photo_url` needs, read alongside a feed card."""

    photo_url: str
    storage_key: str | None


class FeedAreas:
    """How many profiles a search area held when a ranker last scored it, kept per gateway
    replica. An area is a whole degree of latitude and a search radius: the ranker reads a
    latitude band that wide, so this is what one call would have to score."""

    MAX_AREAS = 10_000

    def __init__(self) -> None:
        self._sizes: dict[tuple[int, int], int] = {}

    @staticmethod
    def key(viewer: dict) -> tuple[int, int]:
        return round(float(viewer["latitude"])), int(viewer["max_distance"])

    def size(self, area: tuple[int, int]) -> int | None:
        return self._sizes.get(area)

    def record(self, area: tuple[int, int], size: int) -> None:
        if len(self._sizes) >= self.MAX_AREAS and area not in self._sizes:
            self._sizes.clear()  # a cache: forgetting only means one unsplit call per area
        self._sizes[area] = int(size)


class MatchingService:
    def __init__(
        self,
        repo: MatchingRepository,
        settings: Settings,
        backends: Any,
        photo_url: PhotoUrl,
        areas: FeedAreas | None = None,
    ) -> None:
        self.repo = repo
        self.areas = areas if areas is not None else FeedAreas()
        self.subscriptions = PremiumStatus(repo.session)
        self.settings = settings
        self.backends = backends
        self.photo_url = photo_url

    # --- feed -------------------------------------------------------------------------------

    async def feed(self, user_id: uuid.UUID, limit: int) -> list[FeedCard]:
        # The user's shard answers while PostgreSQL reads the viewer: the two are independent.
        liked_by_call = self.backends.user_shards.for_key(user_id).liked_by.remote(str(user_id))
        try:
            me = await self.repo.viewer(user_id)
            if not is_complete(me):
                raise Unprocessable(
                    "Complete your profile (first name, birth date, gender, location) to see the feed",
                    code="profile_incomplete",
                )
        except BaseException:
            if isinstance(liked_by_call, asyncio.Future):  # in-process shard: do not leave the task dangling
                liked_by_call.cancel()
            raise
        liked_by = await liked_by_call
        viewer = {
            "id": str(user_id),
            "latitude": me.latitude,
            "longitude": me.longitude,
            "age": age_on(me.birth_date, date.today()),
            "gender": me.gender,
            "show_me": me.show_me,
            "age_min": me.age_min,
            "age_max": me.age_max,
            "max_distance": me.max_distance,
            "interests": list(me.interests),
            "liked_by": liked_by,
            "grid_km": self.settings.feed_grid_km,
        }
        exclude = [str(u) for u in me.exclude]
        picks = await self._rank(viewer, limit + HYDRATION_SLACK, exclude)
        return await self._cards(user_id, picks, set(me.interests), limit)

    async def _rank(self, viewer: dict, limit: int, exclude: list[str]) -> list[dict]:
        """Score the viewer's area in one ranker call, or, for an area known to hold at least
        `feed_split_min_candidates` profiles, fan out one call per partition (Serve spreads
        them over the replicas) and merge the tops. Each call costs milliseconds of Ray and
        serialisation on both sides, more than scoring a few thousand rows."""
        area = self.areas.key(viewer)
        known, threshold = self.areas.size(area), self.settings.feed_split_min_candidates
        split = threshold == 0 or (known is not None and known >= threshold)
        partitions = self.settings.feed_partitions if split else 1
        ranker = self.backends.ranker
        results = await asyncio.gather(
            *(
                ranker.rank_partition.remote(viewer, partition=p, partitions=partitions, limit=limit, exclude=exclude)
                for p in range(partitions)
            )
        )
        self.areas.record(area, results[0].get("area", 0))
        best: dict[str, dict] = {}
        for result in results:
            for cand in result["candidates"]:
                if cand["id"] not in best or cand["score"] > best[cand["id"]]["score"]:
                    best[cand["id"]] = cand
        return sorted(best.values(), key=lambda c: (-c["score"], c["id"]))[:limit]

    async def _cards(self, viewer_id: uuid.UUID, picks: list[dict], mine: set[str], limit: int) -> list[FeedCard]:
        ids = [uuid.UUID(c["id"]) for c in picks]
        profiles = await self.repo.cards(ids, viewer_id, limit)  # also records what this page shows
        today = date.today()
        cards = []
        for pick, user_id in zip(picks, ids):
            profile = profiles.get(user_id)
            if profile is None:  # became ineligible after the index last refreshed
                continue
            theirs = list(profile.interests)
            cards.append(
                FeedCard(
                    id=user_id,
                    first_name=profile.first_name,
                    age=age_on(profile.birth_date, today),
                    bio=profile.bio,
                    distance_km=pick["distance_km"],
                    photos=[
                        self.photo_url(PhotoRef(url, key)) for url, key in zip(profile.photo_urls, profile.photo_keys)
                    ],
                    interests=theirs,
                    mutual_interests=[i for i in theirs if i in mine],
                )
            )
        return cards[:limit]

    # --- swipes -----------------------------------------------------------------------------

    async def swipe(self, user_id: uuid.UUID, target_id: uuid.UUID, action: str) -> SwipeOutcome:
        if target_id == user_id:
            raise Unprocessable("You cannot swipe on yourself", code="cannot_swipe_self")
        target = await self.repo.user(target_id)
        if target is None or target.deleted_at is not None or target.banned_at is not None:
            raise _no_such_user()
        # Check the block under the pair lock: safety takes it too, so a block committing meanwhile is seen.
        await self.repo.lock_pair(user_id, target_id)
        if await self.repo.blocked_between(user_id, target_id):
            # Exactly the unknown-user answer: whoever was blocked must not learn it from a swipe.
            raise _no_such_user()
        existing = await self.repo.swipe_action(user_id, target_id)
        if existing is not None:
            if existing != action:
                raise Conflict(
                    f"You already swiped '{existing}' on this user; use rewind to undo it", code="already_swiped"
                )
            match = await self.repo.match_for_pair(user_id, target_id)
            active = match is not None and match.is_active
            return SwipeOutcome(is_match=active, match_id=match.id if match is not None and active else None)
        if action == "like":
            await self._check_like_limit(user_id)
        await self.repo.insert_swipe(user_id, target_id, action)
        if action == "like" and await self.repo.has_liked(target_id, user_id):
            match, created = await self.repo.create_match(user_id, target_id)
            new_match = await self._new_match(match, user_id, target_id) if created else None
            return SwipeOutcome(
                is_match=match.is_active,
                match_id=match.id if match.is_active else None,
                recorded=True,
                new_match=new_match,
            )
        return SwipeOutcome(is_match=False, recorded=True)

    async def _check_like_limit(self, user_id: uuid.UUID) -> None:
        """Free accounts: `free_daily_likes` per rolling 24 h. PostgreSQL has the last word;
        the user's shard only answers fast for someone already at the limit."""
        if await self.subscriptions.is_premium(user_id):
            return
        limit = self.settings.free_daily_likes
        shard = self.backends.user_shards.for_key(user_id)
        hint = await shard.check_like.remote(str(user_id), limit)
        if not hint["allowed"]:
            count, oldest = await self.repo.likes_in_window(user_id)
            if count >= limit:
                raise _limit_reached(limit, oldest)
            await shard.forget.remote(str(user_id))  # the cache disagreed with PostgreSQL: reload it
        await self.repo.lock_user(user_id)
        count, oldest = await self.repo.likes_in_window(user_id)
        if count >= limit:
            raise _limit_reached(limit, oldest)

    async def _new_match(self, match, a: uuid.UUID, b: uuid.UUID) -> dict:
        return {"matched_at": match.matched_at, "people": await self.people([a, b])}

    async def people(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
        """{id, first_name, photos} per user, as events and match lists show them."""
        profiles = await self.repo.profiles_of(user_ids)
        photos = await self.repo.photos_of(user_ids)
        return {
            u: {
                "id": str(u),
                "first_name": profiles[u].first_name if u in profiles else None,
                "photos": [self.photo_url(p) for p in photos.get(u, [])],
            }
            for u in user_ids
        }

    async def rewind(self, user_id: uuid.UUID) -> Rewound:
        if not await self.subscriptions.is_premium(user_id):
            raise Forbidden("Rewind is a premium feature", code="premium_required")
        last = await self.repo.last_swipe(user_id)
        if last is None:
            raise NotFound("There is no swipe to rewind", code="nothing_to_rewind")
        await self.repo.lock_pair(user_id, last.swiped_id)
        if await self.repo.match_for_pair(user_id, last.swiped_id) is not None:
            raise Conflict("That swipe made a match; unmatch instead", code="rewind_not_possible")
        if not await self.repo.delete_swipe(last.id):
            raise Conflict("That swipe was just rewound", code="rewind_not_possible")
        return Rewound(target_user_id=last.swiped_id, action=last.action)

    # --- matches ----------------------------------------------------------------------------

    async def matches(self, user_id: uuid.UUID, limit: int, offset: int) -> tuple[list[MatchOut], int | None]:
        rows = await self.repo.matches(user_id, limit + 1, offset)
        page = rows[:limit]
        out = []
        for r in page:
            last = None
            if r["lm_id"] is not None:
                last = LastMessage(
                    id=r["lm_id"],
                    content=r["content"],
                    message_type=r["message_type"],
                    sender_id=r["sender_id"],
                    sent_at=r["sent_at"],
                )
            user = MatchUser(
                id=r["other_id"],
                first_name=r["first_name"],
                photos=[self.photo_url(PhotoRef(*p)) for p in r["photo_rows"]],
            )
            out.append(
                MatchOut(id=r["id"], user=user, matched_at=r["matched_at"], last_message=last, unread_count=r["unread"])
            )
        return out, (offset + limit if len(rows) > limit else None)

    async def unmatch(self, user_id: uuid.UUID, match_id: uuid.UUID) -> tuple[uuid.UUID, bool]:
        """End the match; (the other user, whether it was active until now). Repeats are harmless."""
        match = await self.repo.match_of(match_id, user_id)
        if match is None:
            raise NotFound("No such match", code="match_not_found")
        was_active = match.is_active  # read first: the update below refreshes the loaded row
        if was_active:
            await self.repo.end_match(match.id, user_id, "unmatched")
        return match.other(user_id), was_active

    # --- likes you --------------------------------------------------------------------------

    async def likes_you(self, user_id: uuid.UUID, limit: int, offset: int) -> LikesYouResponse:
        premium = await self.subscriptions.is_premium(user_id)
        count = await self.repo.admirer_count(user_id)
        if not premium:
            return LikesYouResponse(count=count, is_premium=False)
        rows = await self.repo.admirers(user_id, limit + 1, offset)
        page = rows[:limit]
        ids = [r[0] for r in page]
        profiles = await self.repo.profiles_of(ids)
        photos = await self.repo.photos_of(ids)
        today = date.today()
        users = [
            Admirer(
                id=u,
                first_name=profiles[u].first_name if u in profiles else None,
                age=_age(profiles[u].birth_date, today) if u in profiles else None,
                photos=[self.photo_url(p) for p in photos.get(u, [])],
                liked_at=at,
            )
            for u, at in page
        ]
        return LikesYouResponse(
            count=count, is_premium=True, users=users, next_offset=offset + limit if len(rows) > limit else None
        )


class PairLock:
    """The lock a swipe takes on a pair: a block takes it too, so the two never interleave."""

    def __init__(self, session: AsyncSession) -> None:
        self._repo = MatchingRepository(session)

    async def take(self, a: uuid.UUID, b: uuid.UUID) -> None:
        await self._repo.lock_pair(a, b)


def _no_such_user() -> NotFound:
    """One answer for a target that does not exist, is gone, or is blocked either way."""
    return NotFound("No such user", code="user_not_found")


def _limit_reached(limit: int, oldest: datetime | None) -> RateLimited:
    resets_at = (oldest + LIKE_WINDOW) if oldest else datetime.now(UTC)
    retry = (resets_at - datetime.now(UTC)).total_seconds()
    return RateLimited(
        f"You used your {limit} likes for the last 24 hours; more from {resets_at.isoformat()}",
        retry_after=int(retry) + 1,
        code="like_limit_reached",
    )


async def after_swipe(shards: Any, user_id: uuid.UUID, target_id: uuid.UUID, action: str) -> None:
    """Committed: update the swiper's counters and the target's who-liked-you cache."""
    await shards.for_key(user_id).record_swipe.remote(str(user_id), str(target_id), action)
    await shards.for_key(target_id).liked_by_changed.remote(str(target_id), str(user_id), action == "like")


async def after_rewind(shards: Any, user_id: uuid.UUID, target_id: uuid.UUID) -> None:
    await shards.for_key(user_id).forget.remote(str(user_id))
    await shards.for_key(target_id).liked_by_changed.remote(str(target_id), str(user_id), False)


def _age(birth: date | None, today: date) -> int | None:
    return age_on(birth, today) if birth is not None else None


class People:
    """Another user's profile as the caller may see it: the feed card's fields (same photos,
    interests, grid-snapped distance), for a current match, a candidate the caller's feed has
    shown, or, for premium callers, someone waiting in likes-you. Anyone else is 404, exactly
    like an unknown id."""

    def __init__(self, repo: MatchingRepository, settings: Settings, photo_url: PhotoUrl) -> None:
        self.repo, self.settings, self.photo_url = repo, settings, photo_url
        self.subscriptions = PremiumStatus(repo.session)

    async def profile(self, viewer_id: uuid.UUID, user_id: uuid.UUID) -> PublicProfile:
        row = await self.repo.person(viewer_id, user_id)
        if row is None or not (
            row.matched or row.shown or (row.admirer and await self.subscriptions.is_premium(viewer_id))
        ):
            raise _no_such_user()
        distance = None
        if row.viewer_latitude is not None and row.viewer_longitude is not None:
            distance = snapped_distance_km(
                row.viewer_latitude, row.viewer_longitude, row.latitude, row.longitude, self.settings.feed_grid_km
            )
        theirs, mine = list(row.interests), set(row.viewer_interests)
        return PublicProfile(
            id=row.user_id,
            first_name=row.first_name,
            age=age_on(row.birth_date, date.today()),
            bio=row.bio,
            distance_km=distance,
            photos=[
                self.photo_url(PhotoRef(url, key)) for url, key in zip(row.photo_urls, row.photo_keys, strict=True)
            ],
            interests=theirs,
            mutual_interests=[i for i in theirs if i in mine],
        )
