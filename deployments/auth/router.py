"""/api/v1/auth: phone-number OTP login, token refresh and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials

from deployments.auth.dependencies import CurrentUser, bearer, bearer_token
from deployments.auth.lifecycle import Sms
from deployments.auth.repository import AuthRepository
from deployments.auth.schemas import (
    MessageResponse,
    RefreshResponse,
    SendOtpRequest,
    SendOtpResponse,
    UserOut,
    VerifyOtpRequest,
    VerifyOtpResponse,
)
from deployments.auth.service import OtpService, SessionEnded, SessionService
from deployments.realtime.bus import Events
from kit.db import Session, after_commit
from kit.deps import AppSettings, ClientIp, Limiter

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/send-otp", response_model=SendOtpResponse)
async def send_otp(body: SendOtpRequest, session: Session, settings: AppSettings, limiter: Limiter, ip: ClientIp,
                   sms: Sms) -> SendOtpResponse:
    """Text a 6-digit code to a mobile number of an allowed country (same answer whether or not it has an account)."""
    service = OtpService(AuthRepository(session), limiter, sms, settings)
    return SendOtpResponse(expires_in=await service.send(body.phone_number, ip))


@router.post("/verify-otp", response_model=VerifyOtpResponse)
async def verify_otp(body: VerifyOtpRequest, session: Session, settings: AppSettings, limiter: Limiter,
                     ip: ClientIp, sms: Sms) -> VerifyOtpResponse:
    """Check the code; create the account on first login and return access and refresh tokens."""
    repo = AuthRepository(session)
    user = await OtpService(repo, limiter, sms, settings).verify(body.phone_number, body.otp, ip)
    tokens = await SessionService(repo, settings).start(user.id)
    return VerifyOtpResponse(token=tokens.access, refresh_token=tokens.refresh, expires_in=tokens.expires_in,
                             user=UserOut(id=user.id, phone_number=user.phone_number, is_verified=user.is_verified))


@router.post("/refresh-token", response_model=RefreshResponse)
async def refresh_token(session: Session, settings: AppSettings, events: Events,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> RefreshResponse:
    """Trade the refresh token (as the Bearer credential) for a new access and refresh token."""
    try:
        tokens = await SessionService(AuthRepository(session), settings).refresh(bearer_token(credentials))
    except SessionEnded as ended:  # reuse or past its lifetime: the session is revoked, close its sockets
        after_commit(session, events.session_ended, ended.user_id, ended.session_id, ended.reason)
        raise
    return RefreshResponse(token=tokens.access, refresh_token=tokens.refresh, expires_in=tokens.expires_in)


@router.post("/logout", response_model=MessageResponse)
async def logout(caller: CurrentUser, session: Session, settings: AppSettings, events: Events) -> MessageResponse:
    """End this session: its access and refresh tokens stop working at once."""
    await SessionService(AuthRepository(session), settings).end(caller.session_id)
    after_commit(session, events.session_ended, caller.id, caller.session_id, "logout")
    return MessageResponse(message="Logged out successfully")
