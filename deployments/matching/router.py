"""/api/v1/matching: the candidate feed, swipes, matches and the premium extras."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query

from deployments.auth.dependencies import CurrentUser
from deployments.backends import AppBackends
from deployments.matching.lifecycle import Areas
from deployments.matching.repository import MatchingRepository
from deployments.matching.schemas import (
    FeedResponse,
    LikesYouResponse,
    MatchesResponse,
    NewMatchEvent,
    PublicProfileResponse,
    RewindResponse,
    SwipeRequest,
    SwipeResponse,
    UnmatchResponse,
)
from deployments.matching.service import MatchingService, People, after_rewind, after_swipe
from deployments.photos.lifecycle import PhotoUrl
from deployments.realtime.bus import EventBus, Events
from kit.db import Session
from kit.deps import AppResources, AppSettings, Limiter
from kit.errors import error_responses

router = APIRouter(prefix="/api/v1/matching", tags=["matching"])

Limit = Annotated[int, Query(ge=1, le=50, description="Page size (max 50)")]
Offset = Annotated[int, Query(ge=0, le=100_000)]


async def _service(
    session: Session,
    settings: AppSettings,
    backends: AppBackends,
    photo_url: PhotoUrl,
    areas: Areas,
    resources: AppResources,
) -> MatchingService:
    return MatchingService(MatchingRepository(session, resources.pg), settings, backends, photo_url, areas)


Service = Annotated[MatchingService, Depends(_service)]


@router.get(
    "/feed",
    response_model=FeedResponse,
    responses=error_responses(
        (422, "profile_incomplete", "the caller's own profile is not complete"),
        (429, "feed_limit_reached", "RATE_FEED_PAGES_PER_HOUR feed pages this hour"),
    ),
)
async def feed(
    caller: CurrentUser, service: Service, settings: AppSettings, limiter: Limiter, limit: Limit = 20
) -> FeedResponse:
    """Ranked candidates who fit the caller's preferences and whose preferences the caller fits."""
    await limiter.hit(
        "feed",
        str(caller.id),
        settings.rate_feed_pages_per_hour,
        3600,
        message="Too many feed pages this hour; try again later",
        code="feed_limit_reached",
    )
    return FeedResponse(users=await service.feed(caller.id, limit))


@router.post(
    "/swipe",
    response_model=SwipeResponse,
    response_model_exclude_none=True,
    responses=error_responses(
        (404, "user_not_found", "no such user, banned, deleted, or blocked either way"),
        (409, "already_swiped", "the opposite swipe was already made (use rewind)"),
        (422, "cannot_swipe_self", "swiping on yourself"),
        (429, "like_limit_reached", "FREE_DAILY_LIKES likes in the last 24 h without a subscription"),
    ),
)
async def swipe(
    body: SwipeRequest,
    caller: CurrentUser,
    service: Service,
    backends: AppBackends,
    events: Events,
    background: BackgroundTasks,
) -> SwipeResponse:
    """Like or pass; a like on someone who liked you makes a match (both are told at once)."""
    outcome = await service.swipe(caller.id, body.target_user_id, body.action)
    # Background tasks run after the response, i.e. after the unit of work committed.
    if outcome.recorded:
        background.add_task(after_swipe, backends.user_shards, caller.id, body.target_user_id, body.action)
    if outcome.new_match is not None and outcome.match_id is not None:
        _announce_match(events, background, outcome.match_id, outcome.new_match)
    return SwipeResponse(is_match=outcome.is_match, match_id=outcome.match_id)


def _announce_match(events: EventBus, background: BackgroundTasks, match_id: uuid.UUID, new_match: dict) -> None:
    """`new_match` to both people, each told about the other one."""
    people = new_match["people"]
    for me, other in ((a, b) for a in people for b in people if a != b):
        data = NewMatchEvent(match_id=match_id, user=people[other], matched_at=new_match["matched_at"])
        background.add_task(events.to_users, [me], "new_match", data.model_dump(mode="json"))


@router.get("/matches", response_model=MatchesResponse)
async def matches(caller: CurrentUser, service: Service, limit: Limit = 20, offset: Offset = 0) -> MatchesResponse:
    """The caller's active matches, newest activity first, with the last message and unread count."""
    page, next_offset = await service.matches(caller.id, limit, offset)
    return MatchesResponse(matches=page, next_offset=next_offset)


@router.delete(
    "/matches/{match_id:uuid}",
    response_model=UnmatchResponse,
    responses=error_responses(
        (404, "match_not_found", "no such match of the caller's"),
    ),
)
async def unmatch(
    match_id: uuid.UUID, caller: CurrentUser, service: Service, events: Events, background: BackgroundTasks
) -> UnmatchResponse:
    """Unmatch: the match leaves both lists and both people are told."""
    other, was_active = await service.unmatch(caller.id, match_id)
    if was_active:
        background.add_task(events.to_users, [caller.id, other], "match_removed", {"match_id": str(match_id)})
    return UnmatchResponse()


@router.get("/likes-you", response_model=LikesYouResponse)
async def likes_you(caller: CurrentUser, service: Service, limit: Limit = 20, offset: Offset = 0) -> LikesYouResponse:
    """Who liked the caller and waits for a swipe: the people for premium, only the count otherwise."""
    return await service.likes_you(caller.id, limit, offset)


@router.post(
    "/rewind",
    response_model=RewindResponse,
    responses=error_responses(
        (403, "premium_required", "no active subscription"),
        (404, "nothing_to_rewind", "no swipe to undo"),
        (409, "rewind_not_possible", "that swipe made a match, or it was just rewound"),
    ),
)
async def rewind(
    caller: CurrentUser, service: Service, backends: AppBackends, background: BackgroundTasks
) -> RewindResponse:
    """Premium: undo the caller's last swipe, unless it made a match."""
    rewound = await service.rewind(caller.id)
    background.add_task(after_rewind, backends.user_shards, caller.id, rewound.target_user_id)
    return RewindResponse(rewound=rewound)


# Another person's profile, under the profile paths but decided here: who the caller may see is
# matching's (matches, feed impressions, likes-you) and so is the feed card's distance.
people = APIRouter(prefix="/api/v1/profile", tags=["profile"])


async def _people(session: Session, settings: AppSettings, photo_url: PhotoUrl) -> People:
    return People(MatchingRepository(session), settings, photo_url)


@people.get(
    "/{user_id:uuid}",
    response_model=PublicProfileResponse,
    responses=error_responses(
        (
            404,
            "user_not_found",
            "not someone the caller may see (a current match, shown in their feed, or premium: "
            "in likes-you), or gone, banned, hidden, paused or blocked either way",
        ),
    ),
)
async def get_person(
    user_id: uuid.UUID, caller: CurrentUser, service: Annotated[People, Depends(_people)]
) -> PublicProfileResponse:
    """Another user's profile, as on a feed card: a match, someone the caller's feed showed, or (premium) an admirer."""
    return PublicProfileResponse(profile=await service.profile(caller.id, user_id))
