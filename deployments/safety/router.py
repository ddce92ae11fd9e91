"""/api/v1/safety: block and report other users."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, BackgroundTasks

from deployments.auth.dependencies import CurrentUser
from deployments.realtime.bus import Events
from deployments.safety.repository import SafetyRepository
from deployments.safety.schemas import BlockRequest, BlocksResponse, MessageResponse, ReportRequest, ReportResponse
from deployments.safety.service import SafetyService, announce_block
from kit.db import Session
from kit.deps import AppSettings, Limiter
from kit.errors import error_responses

router = APIRouter(prefix="/api/v1/safety", tags=["safety"])
REPORTS_PER_HOUR = 30


def _service(session, settings) -> SafetyService:
    return SafetyService(SafetyRepository(session), settings)


@router.post(
    "/block",
    response_model=MessageResponse,
    responses=error_responses(
        (404, "user_not_found", "no such user"),
        (422, "cannot_block_self", "blocking yourself"),
    ),
)
async def block(
    body: BlockRequest,
    caller: CurrentUser,
    session: Session,
    settings: AppSettings,
    events: Events,
    tasks: BackgroundTasks,
) -> MessageResponse:
    """Block a user both ways: any match ends and neither of you sees or reaches the other again."""
    outcome = await _service(session, settings).block(caller.id, body.user_id)
    # Background tasks run after the unit of work has committed: nobody is told before it is true.
    tasks.add_task(announce_block, events, outcome)
    return MessageResponse(message="User blocked successfully")


@router.get("/blocks", response_model=BlocksResponse)
async def list_blocks(caller: CurrentUser, session: Session, settings: AppSettings) -> BlocksResponse:
    """The users you have blocked (id and first name only), newest first."""
    return BlocksResponse(blocks=await _service(session, settings).blocks(caller.id))


@router.delete(
    "/block/{user_id:uuid}",
    response_model=MessageResponse,
    responses=error_responses(
        (404, "not_blocked", "you have not blocked this user"),
        (422, "cannot_unblock_self", "unblocking yourself"),
    ),
)
async def unblock(user_id: uuid.UUID, caller: CurrentUser, session: Session, settings: AppSettings) -> MessageResponse:
    """Lift your block on a user. An ended match is not restored."""
    await _service(session, settings).unblock(caller.id, user_id)
    return MessageResponse(message="User unblocked successfully")


@router.post(
    "/report",
    response_model=ReportResponse,
    responses=error_responses(
        (404, "user_not_found", "no such user"),
        (422, "cannot_report_self", "reporting yourself"),
    ),
)
async def report(
    body: ReportRequest,
    caller: CurrentUser,
    session: Session,
    settings: AppSettings,
    limiter: Limiter,
    events: Events,
    tasks: BackgroundTasks,
) -> ReportResponse:
    """Report a user (the recent conversation is kept as evidence); also blocks unless `block` is false."""
    await limiter.hit("report", str(caller.id), REPORTS_PER_HOUR, 3600, message="Too many reports; try again later")
    outcome = await _service(session, settings).report(caller.id, body)
    tasks.add_task(announce_block, events, outcome.block)
    return ReportResponse(report_id=outcome.report_id)
