"""/api/v1/profile: the caller's own profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from deployments.auth.dependencies import CurrentUser
from deployments.photos.lifecycle import PhotoUrl
from deployments.profiles.repository import ProfileRepository
from deployments.profiles.schemas import ProfileResponse, ProfileUpdate, UpdateResponse
from deployments.profiles.service import ProfileService
from deployments.realtime.bus import Events
from kit.db import Session
from kit.deps import AppResources, Limiter
from kit.errors import error_responses

router = APIRouter(prefix="/api/v1/profile", tags=["profile"])


async def _service(session: Session, photo_url: PhotoUrl, limiter: Limiter, resources: AppResources) -> ProfileService:
    return ProfileService(ProfileRepository(session, resources.pg), photo_url, limiter, resources.settings)


Service = Annotated[ProfileService, Depends(_service)]


@router.get("/me", response_model=ProfileResponse)
async def get_me(caller: CurrentUser, service: Service) -> ProfileResponse:
    """The caller's profile, photos and interests."""
    return ProfileResponse(profile=await service.read(caller.id))


@router.put(
    "/me",
    response_model=UpdateResponse,
    responses=error_responses(
        (422, "invalid_birth_date", "under 18, or not a plausible birth date"),
        (422, "invalid_age_range", "age_min above age_max (the stored one where only one is sent)"),
        (429, "location_limit_reached", "RATE_LOCATION_UPDATES_PER_HOUR moves to another grid cell this hour"),
    ),
)
async def update_me(body: ProfileUpdate, caller: CurrentUser, service: Service, events: Events) -> UpdateResponse:
    """Update the caller's profile; omitted fields keep their value."""
    profile = await service.update(caller.id, body)
    await events.profile_changed(caller.id)
    return UpdateResponse(profile=profile)
