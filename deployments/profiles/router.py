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
from kit.deps import AppSettings, Limiter

router = APIRouter(prefix="/api/v1/profile", tags=["profile"])


def _service(session: Session, photo_url: PhotoUrl, limiter: Limiter, settings: AppSettings) -> ProfileService:
    return ProfileService(ProfileRepository(session), photo_url, limiter, settings)


Service = Annotated[ProfileService, Depends(_service)]


@router.get("/me", response_model=ProfileResponse)
async def get_me(caller: CurrentUser, service: Service) -> ProfileResponse:
    """The caller's profile, photos and interests."""
    return ProfileResponse(profile=await service.read(caller.id))


@router.put("/me", response_model=UpdateResponse)
async def put_me(body: ProfileUpdate, caller: CurrentUser, service: Service, events: Events) -> UpdateResponse:
    """Update the caller's profile; omitted fields keep their value."""
    profile = await service.update(caller.id, body)
    await events.profile_changed(caller.id)
    return UpdateResponse(profile=profile)
