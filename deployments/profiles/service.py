"""Profile rules: partial updates that keep the profile valid as a whole."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from deployments.matching.geo import same_cell
from deployments.profiles.repository import ProfileRepository
from deployments.profiles.schemas import Location, PhotoOut, PreferencesOut, ProfileOut, ProfileUpdate, age_on
from kit.errors import Unprocessable
from kit.redis import RateLimiter
from kit.settings import Settings
from models import ProfilePhoto, UserProfile
from models.profile import is_complete

PhotoUrl = Callable[[ProfilePhoto], str]
DEFAULT_PREFERENCES = {"max_distance": 50, "age_min": 18, "age_max": 100, "show_me": "everyone"}


class ProfileService:
    def __init__(
        self,
        repo: ProfileRepository,
        photo_url: PhotoUrl,
        limiter: RateLimiter | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.repo = repo
        self.photo_url = photo_url
        self.limiter, self.settings = limiter, settings

    async def read(self, user_id: uuid.UUID) -> ProfileOut:
        profile, interests, photos = await self.repo.full(user_id)
        return self._render(user_id, profile, interests, photos)

    async def update(self, user_id: uuid.UUID, change: ProfileUpdate) -> ProfileOut:
        current = await self.repo.get(user_id)
        values = self._columns(change)
        _check_birth_date(change.birth_date)
        self._check_age_range(current, values)
        await self._count_move(user_id, current, values)
        await self.repo.upsert(user_id, values)
        if change.interests is not None:
            await self.repo.replace_interests(user_id, change.interests)
        self.repo.session.expire_all()
        return await self.read(user_id)

    async def _count_move(self, user_id: uuid.UUID, current: UserProfile | None, values: dict) -> None:
        """Location changes have their own hourly budget, so nobody can walk a pattern of positions
        around someone to pin their grid cell. Only a move to another cell counts: within a cell
        nothing anyone sees changes, and a phone's GPS jitter must not spend the budget."""
        if self.limiter is None or self.settings is None or "latitude" not in values:
            return
        if (
            current is not None
            and current.latitude is not None
            and current.longitude is not None
            and same_cell(
                current.latitude, current.longitude, values["latitude"], values["longitude"], self.settings.feed_grid_km
            )
        ):
            return
        await self.limiter.hit(
            "location",
            str(user_id),
            self.settings.rate_location_updates_per_hour,
            3600,
            message="Too many location changes this hour; try again later",
            code="location_limit_reached",
        )

    @staticmethod
    def _columns(change: ProfileUpdate) -> dict:
        fields = change.model_dump(exclude_unset=True, exclude={"location", "preferences", "interests"})
        if change.location is not None:
            fields["latitude"] = change.location.latitude
            fields["longitude"] = change.location.longitude
        if change.preferences is not None:
            fields.update(change.preferences.model_dump(exclude_none=True))
        return {k: v for k, v in fields.items() if v is not None or k in ("bio", "last_name", "location_name")}

    @staticmethod
    def _check_age_range(current: UserProfile | None, values: dict) -> None:
        age_min = values.get("age_min", current.age_min if current else DEFAULT_PREFERENCES["age_min"])
        age_max = values.get("age_max", current.age_max if current else DEFAULT_PREFERENCES["age_max"])
        if age_min > age_max:
            raise Unprocessable(
                f"preferences: age_min ({age_min}) must not exceed age_max ({age_max})", code="invalid_age_range"
            )

    def _render(self, user_id: uuid.UUID, profile: Any, interests: list[str], photos: Sequence[Any]) -> ProfileOut:
        """`profile`: a user_profiles row (ORM object or SQL row) or None; `photos`: rows with id,
        is_primary and what `PhotoUrl` reads."""
        prefs = (
            PreferencesOut(
                max_distance=profile.max_distance,
                age_min=profile.age_min,
                age_max=profile.age_max,
                show_me=profile.show_me,
            )
            if profile
            else PreferencesOut(**DEFAULT_PREFERENCES)
        )
        location = None
        if profile and profile.latitude is not None and profile.longitude is not None:
            location = Location(latitude=profile.latitude, longitude=profile.longitude)
        return ProfileOut(
            id=user_id,
            first_name=profile.first_name if profile else None,
            last_name=profile.last_name if profile else None,
            birth_date=profile.birth_date if profile else None,
            age=age_on(profile.birth_date, date.today()) if profile and profile.birth_date else None,
            gender=profile.gender if profile else None,
            bio=profile.bio if profile else None,
            location=location,
            location_name=profile.location_name if profile else None,
            preferences=prefs,
            photos=[PhotoOut(id=p.id, url=self.photo_url(p), is_primary=p.is_primary) for p in photos],
            interests=interests,
            is_complete=is_complete(profile),
            discoverable=profile.discoverable if profile else True,
        )


def _check_birth_date(birth: date | None) -> None:
    """A rule of today's date, which a schema cannot state: its own code (422 `invalid_birth_date`)."""
    if birth is None:
        return
    age = age_on(birth, date.today())
    if age < 18:
        raise Unprocessable("birth_date: you must be at least 18 years old", code="invalid_birth_date")
    if age > 120:
        raise Unprocessable("birth_date: not a plausible birth date", code="invalid_birth_date")
