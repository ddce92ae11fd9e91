"""Bodies of /api/v1/account."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DeleteAccountResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"success": True, "message": "Account deleted", "erase_after": "2026-12-02T10:00:00Z"}]
        }
    )

    success: bool = True
    message: str = "Account deleted"
    erase_after: datetime = Field(
        description="When the purge erases the data; logging in before restores the account (ended matches stay ended)"
    )


Records = list[dict[str, Any]]


class AccountExport(BaseModel):
    """Everything held about the caller. Each record lists the stored columns (secrets such as
    token hashes left out); photos carry signed links that expire like every photo URL."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "success": True,
                    "generated_at": "2026-12-01T10:00:00Z",
                    "account": {
                        "id": "9b2f4c1e-4f5a-4c7e-9d1a-2b3c4d5e6f70",
                        "phone_number": "+14155550123",
                        "created_at": "2026-01-05T09:00:00Z",
                    },
                    "profile": {"first_name": "Ana", "birth_date": "1996-04-02", "bio": "Climbing, coffee"},
                    "photos": [
                        {
                            "id": "5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
                            "url": "https://.../media/...",
                            "thumbnail_url": "https://.../media/...",
                        }
                    ],
                    "interests": [{"interest_name": "climbing"}],
                    "swipes": [],
                    "matches": [],
                    "messages": [],
                    "blocks": [],
                    "reports_filed": [],
                    "sessions": [],
                    "subscriptions": [],
                    "feed_impressions": [],
                    "push_devices": [],
                    "notification_settings": [],
                    "match_mutes": [],
                }
            ]
        }
    )

    success: bool = True
    generated_at: datetime
    user_id: uuid.UUID
    account: dict[str, Any] = Field(description="The account: number, created, last login and activity")
    profile: dict[str, Any] | None = Field(description="Profile and preferences (max_distance, ages, show_me)")
    photos: Records = Field(description="Your photos, with signed links to the stored images")
    interests: Records
    swipes: Records = Field(description="Swipes you gave")
    matches: Records = Field(description="Your matches, current and ended (`other_user_id`)")
    messages: Records = Field(description="Every message you sent or received")
    blocks: Records = Field(description="Users you blocked")
    reports_filed: Records = Field(description="Reports you filed (not reports about you)")
    sessions: Records = Field(description="Your logins and devices")
    subscriptions: Records = Field(description="Subscriptions and their payment state")
    feed_impressions: Records = Field(description="Who your feed showed you, and when first")
    push_devices: Records = Field(default_factory=list, description="Devices registered for push notifications")
    notification_settings: Records = Field(default_factory=list, description="Your notification preferences")
    match_mutes: Records = Field(default_factory=list, description="Conversations you muted")
