"""Profiles and interests."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from models.base import Base, created_at, uuid_pk

GENDERS = ("male", "female", "non_binary", "other")
SHOW_ME = ("men", "women", "everyone")
# A profile is complete (it may see feeds and appear in them) when these columns are set: the one
# definition, read by `is_complete` and, through `complete_sql`, by the feed's queries.
REQUIRED_FOR_FEED = ("first_name", "birth_date", "gender", "latitude", "longitude")


def is_complete(profile: object | None) -> bool:
    """A profile row (ORM object or SQL row) has every column the feed needs."""
    return profile is not None and all(getattr(profile, column) is not None for column in REQUIRED_FOR_FEED)


def complete_sql(alias: str) -> str:
    """`is_complete` as an SQL condition on the user_profiles row named `alias`."""
    return " AND ".join(f"{alias}.{column} IS NOT NULL" for column in REQUIRED_FOR_FEED)


class Point(UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "POINT"


class UserProfile(Base):
    __tablename__ = "user_profiles"
    __table_args__ = (
        CheckConstraint(f"gender IS NULL OR gender IN {GENDERS}", name="gender"),
        CheckConstraint(f"show_me IN {SHOW_ME}", name="show_me"),
        CheckConstraint("age_min >= 18 AND age_max <= 100 AND age_min <= age_max", name="age_range"),
        CheckConstraint("max_distance BETWEEN 1 AND 500", name="max_distance"),
        CheckConstraint("latitude IS NULL OR latitude BETWEEN -90 AND 90", name="latitude"),
        CheckConstraint("longitude IS NULL OR longitude BETWEEN -180 AND 180", name="longitude"),
        Index("idx_profiles_location", "location", postgresql_using="gist"),
        Index("ix_user_profiles_updated_at", "updated_at"),  # the feed index's incremental refresh (0003)
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    first_name: Mapped[str | None] = mapped_column(String(50))
    last_name: Mapped[str | None] = mapped_column(String(50))
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(20))
    bio: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # The seed's POINT column, derived so it can never disagree with latitude/longitude.
    location: Mapped[object | None] = mapped_column(Point, Computed("point(longitude, latitude)", persisted=True))
    location_name: Mapped[str | None] = mapped_column(String(255))
    max_distance: Mapped[int] = mapped_column(Integer, nullable=False, server_default="50", default=50)
    age_min: Mapped[int] = mapped_column(Integer, nullable=False, server_default="18", default=18)
    age_max: Mapped[int] = mapped_column(Integer, nullable=False, server_default="100", default=100)
    show_me: Mapped[str] = mapped_column(String(20), nullable=False, server_default="everyone", default="everyone")
    # False: paused. Out of every feed and likes-you; matches and chats stay.
    discoverable: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"), default=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class UserInterest(Base):
    __tablename__ = "user_interests"
    __table_args__ = (
        UniqueConstraint("user_id", "interest_name", name="uq_user_interests_user_interest"),
        Index("ix_user_interests_created_at", "created_at"),  # the feed index's incremental refresh (0003)
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    interest_name: Mapped[str] = mapped_column(String(100), nullable=False)
    category: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = created_at()
