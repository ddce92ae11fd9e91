"""Bodies of /api/v1/safety and /api/v1/moderation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.moderation_audit import AUDIT_ACTIONS
from models.report import REPORT_STATUSES

ReportReason = Literal[
    "inappropriate_behavior", "harassment", "spam", "fake_profile", "underage", "scam", "offline_behavior", "other"
]
ReportStatus = Literal["pending", "reviewing", "actioned", "dismissed"]
Resolution = Literal["reviewing", "actioned", "dismissed"]
AuditAction = Literal["report_resolved", "user_banned", "user_auto_hidden"]
assert set(get_args(ReportStatus)) == set(REPORT_STATUSES)  # the API and the CHECK constraint agree
assert set(get_args(AuditAction)) == set(AUDIT_ACTIONS)

MAX_DESCRIPTION = 1000


def _strip(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


class BlockRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"user_id": "3f0c9a52-8d1e-4b7a-9c2f-5e6d7a8b9c01"}]}
    )
    user_id: uuid.UUID


class MessageResponse(BaseModel):
    success: bool = True
    message: str


class BlockedUser(BaseModel):
    """Only what the blocker needs to recognise the entry; nothing else about the other user."""

    id: uuid.UUID
    first_name: str | None


class BlocksResponse(BaseModel):
    success: bool = True
    blocks: list[BlockedUser]


class ReportRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reported_user_id": "3f0c9a52-8d1e-4b7a-9c2f-5e6d7a8b9c01",
                    "reason": "inappropriate_behavior",
                    "description": "User sent inappropriate messages",
                }
            ]
        },
    )

    reported_user_id: uuid.UUID
    reason: ReportReason = Field(
        description="inappropriate_behavior, harassment, spam, fake_profile, underage, scam, offline_behavior or other"
    )
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)
    block: bool = Field(True, strict=True, description="Also block the reported user (the default); false only reports")

    @field_validator("description")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _strip(value)


class ReportResponse(BaseModel):
    success: bool = True
    report_id: uuid.UUID


class EvidenceMessage(BaseModel):
    id: uuid.UUID
    sender_id: uuid.UUID
    content: str
    message_type: str
    sent_at: datetime


class EvidenceMatch(BaseModel):
    id: uuid.UUID
    matched_at: datetime
    is_active: bool
    unmatched_at: datetime | None


class Evidence(BaseModel):
    """The conversation snapshot stored with a report (JSON, timestamps as every answer writes them)."""

    captured_at: datetime
    match: EvidenceMatch | None
    messages: list[EvidenceMessage]


class ReportOut(BaseModel):
    id: uuid.UUID
    reporter_id: uuid.UUID
    reported_user_id: uuid.UUID
    reason: str
    description: str | None
    status: ReportStatus
    match_id: uuid.UUID | None
    evidence: dict[str, Any] | None = Field(description="Conversation snapshot taken when the report was filed")
    reported_user_hidden: bool
    reported_user_banned: bool
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: uuid.UUID | None
    resolution_note: str | None


class ReportsResponse(BaseModel):
    success: bool = True
    reports: list[ReportOut]


class ResolveRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"status": "dismissed", "note": "Conversation shows nothing against the rules"}]
        },
    )

    status: Resolution
    note: str | None = Field(None, max_length=MAX_DESCRIPTION)

    @field_validator("note")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _strip(value)


class ResolveResponse(BaseModel):
    success: bool = True
    report: ReportOut


class BanRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", regex_engine="python-re", json_schema_extra={"examples": [{"reason": "Scam messages"}]}
    )
    reason: str = Field(min_length=1, max_length=255, pattern=r"\S", description="Not blank")

    @field_validator("reason")
    @classmethod
    def _clean(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("reason must not be blank")
        return value.strip()


class AuditEntry(BaseModel):
    """One moderation action: who (`actor_id`, null when the system acted), what, to whom, when."""

    id: uuid.UUID
    actor_id: uuid.UUID | None
    action: AuditAction
    target_user_id: uuid.UUID | None
    report_id: uuid.UUID | None
    details: dict[str, Any]
    created_at: datetime


class AuditResponse(BaseModel):
    success: bool = True
    entries: list[AuditEntry]
    next_offset: int | None = Field(description="Offset of the next page; null on the last page")
