"""`CurrentUser`: the authenticated caller, checked on every protected route."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from deployments.auth.repository import AuthRepository
from deployments.auth.service import end_reason
from kit.db import Session
from kit.deps import AppSettings, Limiter
from kit.errors import Forbidden, Unauthorized
from kit.security import TokenError, decode_token

bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/verify-otp")
ACTIVITY_RESOLUTION = timedelta(minutes=5)
# What a request (or a socket's `authenticate`) of an ended session is told: message, code.
REFUSALS = {
    "revoked": ("This session has ended; log in again", "session_revoked"),
    "banned": ("This account is no longer active", "account_inactive"),
    "account_deleted": ("This account is no longer active", "account_inactive"),
    "expired": ("This session has reached its maximum age; log in again", "session_expired"),
}


@dataclass(frozen=True)
class Caller:
    id: uuid.UUID
    session_id: uuid.UUID
    is_moderator: bool


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("Missing bearer token", code="missing_token")
    return credentials.credentials


async def current_user(
    request: Request,
    session: Session,
    settings: AppSettings,
    limiter: Limiter,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    try:
        claims = decode_token(settings, bearer_token(credentials), "access")
    except TokenError as exc:
        raise Unauthorized(str(exc), code="invalid_token") from exc
    repo = AuthRepository(session)
    caller = await repo.load_caller(claims.session_id, claims.user_id)
    ended = end_reason(caller, settings.session_max_age_s)
    if ended is not None:
        message, code = REFUSALS.get(ended, REFUSALS["revoked"])
        raise Unauthorized(message, code=code)
    await limiter.hit("api", str(caller.user_id), settings.rate_api_per_hour, 3600,
                      message="API request limit reached; slow down")
    now = datetime.now(UTC)
    if caller.last_active_at is None or now - caller.last_active_at > ACTIVITY_RESOLUTION:
        await repo.touch_activity(caller.user_id)
    request.state.caller_id = caller.user_id
    return Caller(caller.user_id, caller.session_id, caller.is_moderator)


async def moderator(caller: Annotated[Caller, Depends(current_user)]) -> Caller:
    if not caller.is_moderator:
        raise Forbidden("Moderator role required", code="not_moderator")
    return caller


CurrentUser = Annotated[Caller, Depends(current_user)]
Moderator = Annotated[Caller, Depends(moderator)]
