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
from kit.errors import error_responses

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


PHONE_ERRORS = [
    (422, "invalid_phone_number", "not a valid number"),
    (422, "phone_number_not_supported", "not a mobile number (premium-rate, toll-free, VoIP, landline, ...)"),
    (422, "phone_country_not_supported", "a number of a region outside SMS_ALLOWED_COUNTRIES"),
    (503, "service_unavailable", "the rate limiter (Redis) is down"),
]


@router.post("/send-otp", response_model=SendOtpResponse, responses=error_responses(
    *PHONE_ERRORS,
    (429, "otp_cooldown", "a code was sent to this number less than OTP_RESEND_COOLDOWN_S ago"),
    (429, "rate_limited", "RATE_OTP_PER_HOUR codes already sent to this number this hour"),
    (429, "otp_network_limit", "RATE_OTP_PER_IP_PER_HOUR codes already sent for this address"),
    (429, "otp_prefix_limit", "RATE_OTP_PER_PREFIX_PER_HOUR codes already sent to this block of numbers"),
    (429, "otp_global_limit", "RATE_OTP_GLOBAL_PER_HOUR codes already sent by the service"),
    (503, "sms_failed", "the SMS provider did not accept the message"),
))
async def send_otp(body: SendOtpRequest, session: Session, settings: AppSettings, limiter: Limiter, ip: ClientIp,
                   sms: Sms) -> SendOtpResponse:
    """Text a 6-digit code to a mobile number of an allowed country (same answer whether or not it has an account)."""
    service = OtpService(AuthRepository(session), limiter, sms, settings)
    return SendOtpResponse(expires_in=await service.send(body.phone_number, ip))


@router.post("/verify-otp", response_model=VerifyOtpResponse, responses=error_responses(
    *PHONE_ERRORS,
    (400, "otp_expired", "no open code for this number, or it expired"),
    (400, "invalid_otp", "wrong code; the message says how many attempts are left"),
    (403, "account_banned", "the account was banned"),
    (429, "too_many_attempts", "too many wrong codes for this number, or failures from this address"),
))
async def verify_otp(body: VerifyOtpRequest, session: Session, settings: AppSettings, limiter: Limiter,
                     ip: ClientIp, sms: Sms) -> VerifyOtpResponse:
    """Check the code; create the account on first login and return access and refresh tokens."""
    repo = AuthRepository(session)
    user = await OtpService(repo, limiter, sms, settings).verify(body.phone_number, body.otp, ip)
    tokens = await SessionService(repo, settings).start(user.id)
    return VerifyOtpResponse(token=tokens.access, refresh_token=tokens.refresh, expires_in=tokens.expires_in,
                             user=UserOut(id=user.id, phone_number=user.phone_number, is_verified=user.is_verified))


@router.post("/refresh-token", response_model=RefreshResponse, responses=error_responses(
    (401, "refresh_token_reused", "this refresh token was already used: the session is ended now"),
))
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
