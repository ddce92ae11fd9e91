"""/api/v1/devices and /api/v1/notifications: push tokens, notification preferences, muted matches."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from deployments.auth.dependencies import CurrentUser
from deployments.push.repository import PushRepository
from deployments.push.schemas import (
    DeletedResponse,
    DeviceOut,
    DeviceRequest,
    MuteOut,
    MuteRequest,
    NotificationSettingsBody,
    NotificationSettingsOut,
)
from deployments.push.service import PushService
from kit.db import Session
from kit.errors import error_responses

router = APIRouter(tags=["push"])


@router.post("/api/v1/devices", response_model=DeviceOut)
async def register_device(body: DeviceRequest, caller: CurrentUser, session: Session) -> DeviceOut:
    """Register this login's push token (again: harmless; a token another account had moves to you)."""
    return await PushService(PushRepository(session)).register(caller.id, caller.session_id, body)


@router.delete(
    "/api/v1/devices/{device_id:uuid}",
    response_model=DeletedResponse,
    responses=error_responses(
        (404, "device_not_found", "no such device of the caller's"),
    ),
)
async def delete_device(device_id: uuid.UUID, caller: CurrentUser, session: Session) -> DeletedResponse:
    """Stop pushes to one of your devices."""
    await PushService(PushRepository(session)).unregister(caller.id, device_id)
    return DeletedResponse(message="Device removed")


@router.get("/api/v1/notifications/settings", response_model=NotificationSettingsOut)
async def get_notification_settings(caller: CurrentUser, session: Session) -> NotificationSettingsOut:
    """Your notification choices (defaults until you save some)."""
    return await PushService(PushRepository(session)).preferences(caller.id)


@router.put(
    "/api/v1/notifications/settings",
    response_model=NotificationSettingsOut,
    responses=error_responses(
        (422, "invalid_quiet_hours", "only one of quiet_hours_start and quiet_hours_end"),
        (422, "invalid_timezone", "not an IANA time zone"),
    ),
)
async def put_notification_settings(
    body: NotificationSettingsBody, caller: CurrentUser, session: Session
) -> NotificationSettingsOut:
    """Replace your notification choices: kinds, message previews, quiet hours."""
    return await PushService(PushRepository(session)).save_preferences(caller.id, body)


@router.put(
    "/api/v1/notifications/matches/{match_id:uuid}",
    response_model=MuteOut,
    responses=error_responses(
        (404, "match_not_found", "no such match of the caller's"),
    ),
)
async def mute_match(match_id: uuid.UUID, body: MuteRequest, caller: CurrentUser, session: Session) -> MuteOut:
    """Mute or unmute pushes for one conversation."""
    await PushService(PushRepository(session)).mute(caller.id, match_id, body.muted)
    return MuteOut(match_id=match_id, muted=body.muted)
