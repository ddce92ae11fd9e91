"""`CurrentUser`: the authenticated caller, checked on every protected route."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from deployments.auth.repository import CallerRepository
from deployments.auth.service import end_reason
from kit.deps import AppResources
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
    resources: AppResources,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """No `Session` here: the caller check runs on the raw pool, so a route that needs no ORM
    work opens no transaction at all."""
    settings = resources.settings
    try:
        claims = decode_token(settings, bearer_token(credentials), "access")
    except TokenError as exc:
        raise Unauthorized(str(exc), code="invalid_token") from exc
    callers = CallerRepository(resources.pg)
    caller = await callers.load(claims.session_id, claims.user_id)
    ended = end_reason(caller, settings.session_max_age_s)
    if ended is not None or caller is None:
        message, code = REFUSALS.get(ended or "revoked", REFUSALS["revoked"])
        raise Unauthorized(message, code=code)
    # Leased tokens (`RateLimiter.take`): a Redis round trip every few requests, not every one,
    # and the hour's total still never exceeds the limit.
    await resources.limiter.take(
        "api", str(caller.user_id), settings.rate_api_per_hour, 3600, message="API request limit reached; slow down"
    )
    now = datetime.now(UTC)
    if caller.last_active_at is None or now - caller.last_active_at > ACTIVITY_RESOLUTION:
        await callers.touch_activity(caller.user_id)
    request.state.caller_id = caller.user_id
    return Caller(caller.user_id, caller.session_id, caller.is_moderator)


async def moderator(caller: Annotated[Caller, Depends(current_user)]) -> Caller:
    if not caller.is_moderator:
        raise Forbidden("Moderator role required", code="not_moderator")
    return caller


CurrentUser = Annotated[Caller, Depends(current_user)]
Moderator = Annotated[Caller, Depends(moderator)]
