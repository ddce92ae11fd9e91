"""/api/v1/moderation: the report queue and bans. Moderators only; everyone else gets 403."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query

from deployments.auth.dependencies import Moderator
from deployments.realtime.bus import Events
from deployments.safety.repository import SafetyRepository
from deployments.safety.schemas import (
    AuditAction,
    AuditResponse,
    BanRequest,
    MessageResponse,
    ReportsResponse,
    ReportStatus,
    ResolveRequest,
    ResolveResponse,
)
from deployments.safety.service import ModerationService, announce_removals
from kit.db import Session
from kit.errors import error_responses

router = APIRouter(prefix="/api/v1/moderation", tags=["moderation"])


def _service(session) -> ModerationService:
    return ModerationService(SafetyRepository(session))


MODERATORS_ONLY = (403, "not_moderator", "the caller is not a moderator")


@router.get("/reports", response_model=ReportsResponse, responses=error_responses(MODERATORS_ONLY))
async def list_reports(
    moderator: Moderator,
    session: Session,
    status: Annotated[ReportStatus | Literal["all"], Query()] = "pending",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReportsResponse:
    """Reports with their evidence, oldest first, by `status` (default pending, or all); never reports about you."""
    wanted = None if status == "all" else status
    return ReportsResponse(reports=await _service(session).reports(moderator.id, wanted, limit, offset))


@router.post(
    "/reports/{report_id:uuid}/resolve",
    response_model=ResolveResponse,
    responses=error_responses(
        MODERATORS_ONLY,
        (403, "cannot_resolve_own_report", "another moderator must resolve a report you filed"),
        (404, "report_not_found", "no such report (or one about you)"),
    ),
)
async def resolve_report(
    report_id: uuid.UUID, body: ResolveRequest, moderator: Moderator, session: Session
) -> ResolveResponse:
    """Set a report reviewing, actioned or dismissed (dismissing the last open one un-hides); not your own."""
    report = await _service(session).resolve(moderator.id, report_id, body.status, body.note)
    return ResolveResponse(report=report)


@router.post(
    "/users/{user_id:uuid}/ban",
    response_model=MessageResponse,
    responses=error_responses(
        MODERATORS_ONLY,
        (404, "user_not_found", "no such user (or a moderator)"),
        (422, "cannot_ban_self", "banning yourself"),
    ),
)
async def ban_user(
    user_id: uuid.UUID, body: BanRequest, moderator: Moderator, session: Session, events: Events, tasks: BackgroundTasks
) -> MessageResponse:
    """Ban a user: sessions, sockets and matches end, the number cannot log in again; a moderator is a 404."""
    removals = await _service(session).ban(moderator.id, user_id, body.reason)
    tasks.add_task(events.session_ended, user_id, None, "banned")
    tasks.add_task(announce_removals, events, removals)
    return MessageResponse(message="User banned successfully")


@router.get("/audit", response_model=AuditResponse, responses=error_responses(MODERATORS_ONLY))
async def audit(
    moderator: Moderator,
    session: Session,
    action: Annotated[AuditAction | None, Query()] = None,
    target_user_id: Annotated[uuid.UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> AuditResponse:
    """The moderation audit trail, newest first: resolutions, bans, automatic hides (actor null); none about you."""
    entries, next_offset = await _service(session).audit(moderator.id, action, target_user_id, limit, offset)
    return AuditResponse(entries=entries, next_offset=next_offset)
