"""Bodies of /api/v1/matching, the API design's shapes plus what the premium features need."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FeedCard(BaseModel):
    """A candidate. Never coordinates or a phone number; `distance_km` is between grid cells."""

    id: uuid.UUID
    first_name: str
    age: int
    bio: str | None = None
    distance_km: int = Field(ge=1, description="Whole km between grid-snapped locations, at least 1")
    photos: list[str] = []
    interests: list[str] = []
    mutual_interests: list[str] = []


class FeedResponse(BaseModel):
    success: bool = True
    users: list[FeedCard]


class SwipeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"target_user_id": "3f0c9a52-8d1e-4b7a-9c2f-5e6d7a8b9c01", "action": "like"}]},
    )
    target_user_id: uuid.UUID
    action: Literal["like", "pass"]


class SwipeResponse(BaseModel):
    success: bool = True
    is_match: bool
    match_id: uuid.UUID | None = Field(None, description="Only when it is a match")


class MatchUser(BaseModel):
    id: uuid.UUID
    first_name: str | None = None
    photos: list[str] = []


class NewMatchEvent(BaseModel):
    """The `new_match` websocket event's data: timestamps written as every HTTP answer writes them."""

    match_id: uuid.UUID
    user: MatchUser
    matched_at: datetime


class LastMessage(BaseModel):
    id: uuid.UUID
    content: str
    message_type: str
    sender_id: uuid.UUID
    sent_at: datetime


class MatchOut(BaseModel):
    id: uuid.UUID
    user: MatchUser
    matched_at: datetime
    last_message: LastMessage | None = None
    unread_count: int = 0


class MatchesResponse(BaseModel):
    success: bool = True
    matches: list[MatchOut]
    next_offset: int | None = Field(None, description="Pass as `offset` for the next page; null on the last")


class UnmatchResponse(BaseModel):
    success: bool = True
    message: str = "Unmatched"


class Admirer(BaseModel):
    id: uuid.UUID
    first_name: str | None = None
    age: int | None = None
    photos: list[str] = []
    liked_at: datetime


class LikesYouResponse(BaseModel):
    success: bool = True
    count: int = Field(description="How many people liked you and wait for your swipe")
    is_premium: bool
    users: list[Admirer] | None = Field(None, description="Premium only; null for free accounts")
    next_offset: int | None = None


class Rewound(BaseModel):
    target_user_id: uuid.UUID
    action: str


class RewindResponse(BaseModel):
    success: bool = True
    rewound: Rewound


class PublicProfile(FeedCard):
    """Another user as the caller may see them: exactly a feed card's fields, never coordinates
    or a phone number."""

    distance_km: int | None = Field(  # type: ignore[assignment]
        None,
        ge=1,
        description="Whole km between grid-snapped locations, as on feed cards; null while the caller has no location",
    )


class PublicProfileResponse(BaseModel):
    success: bool = True
    profile: PublicProfile
