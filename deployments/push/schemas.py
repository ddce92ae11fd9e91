"""Bodies of /api/v1/devices and /api/v1/notifications."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# APNs tokens are 64 hex characters, FCM registration tokens about 160; anything printable up to
# the column's width is accepted, since both formats have changed before.
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
TOKEN_PATTERN = r"^[A-Za-z0-9_:\-.]{8,512}$"


class DeviceRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "platform": "ios",
                    "token": "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad",
                    "app_version": "3.2.1",
                    "locale": "en-US",
                }
            ]
        },
    )
    platform: Literal["ios", "android"]
    token: str = Field(pattern=TOKEN_PATTERN, description="The APNs device token or FCM registration token")
    app_version: str | None = Field(None, max_length=32, pattern=r"^[A-Za-z0-9._+\-]+$")
    locale: str | None = Field(None, max_length=35, pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


class DeviceOut(BaseModel):
    success: bool = True
    id: uuid.UUID
    platform: str
    app_version: str | None
    locale: str | None


class DeletedResponse(BaseModel):
    success: bool = True
    message: str


class NotificationSettingsBody(BaseModel):
    """Every choice at once (PUT replaces them all; GET answers them)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "new_matches": True,
                    "messages": True,
                    "likes": True,
                    "promotions": False,
                    "message_previews": False,
                    "quiet_hours_start": "22:00",
                    "quiet_hours_end": "07:30",
                    "timezone": "Europe/Berlin",
                }
            ]
        },
    )
    new_matches: bool = Field(True, strict=True)
    messages: bool = Field(True, strict=True)
    likes: bool = Field(True, strict=True)
    promotions: bool = Field(False, strict=True)
    message_previews: bool = Field(False, strict=True, description="Show the message text on the lock screen")
    quiet_hours_start: str | None = Field(
        None, pattern=HHMM, description="HH:MM local time; with quiet_hours_end, or neither"
    )
    quiet_hours_end: str | None = Field(None, pattern=HHMM)
    timezone: str = Field("UTC", max_length=64, description="IANA time zone of the quiet hours")


class NotificationSettingsOut(NotificationSettingsBody):
    model_config = ConfigDict(extra="ignore")
    success: bool = True


class MuteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"muted": True}]})
    muted: bool = Field(strict=True)


class MuteOut(BaseModel):
    success: bool = True
    match_id: uuid.UUID
    muted: bool = Field(strict=True)
