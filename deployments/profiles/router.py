"""/api/v1/profile: the caller's own profile."""

from __future__ import annotations

from fastapi import APIRouter, Request

from deployments.auth.dependencies import CurrentUser
from deployments.profiles.repository import ProfileRepository
from deployments.profiles.schemas import ProfileResponse, ProfileUpdate, UpdateResponse
from deployments.profiles.service import ProfileService
from kit.db import Session

router = APIRouter(prefix="/api/v1/profile", tags=["profile"])


def _service(request: Request, session) -> ProfileService:
    state = request.app.state
    return ProfileService(ProfileRepository(session), state.photo_url, state.limiter, state.settings)


@router.get("/me", response_model=ProfileResponse)
async def get_me(caller: CurrentUser, request: Request, session: Session) -> ProfileResponse:
    """The caller's profile, photos and interests."""
    return ProfileResponse(profile=await _service(request, session).read(caller.id))


@router.put("/me", response_model=UpdateResponse)
async def put_me(body: ProfileUpdate, caller: CurrentUser, request: Request, session: Session) -> UpdateResponse:
    """Update the caller's profile; omitted fields keep their value."""
    profile = await _service(request, session).update(caller.id, body)
    await request.app.state.events.profile_changed(caller.id)
    return UpdateResponse(profile=profile)
