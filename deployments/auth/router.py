"""/api/v1/auth: phone-number OTP login, token refresh and logout."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from deployments.auth.dependencies import CurrentUser, bearer, bearer_token
from deployments.auth.devices import coarse_network, device_label
from deployments.auth.lifecycle import Otp
from deployments.auth.repository import AuthRepository
from deployments.auth.schemas import (
    ChangePhoneRequest,
    ChangePhoneResponse,
    ChangePhoneSendRequest,
    LogoutAllResponse,
    MessageResponse,
    RefreshResponse,
    SendOtpRequest,
    SendOtpResponse,
    SessionOut,
    SessionsResponse,
    UserOut,
    VerifyOtpRequest,
    VerifyOtpResponse,
)
from deployments.auth.service import DeviceService, PhoneChangeService, SessionEnded, SessionService
from deployments.realtime.bus import Events
from kit.db import Session, after_commit
from kit.deps import AppSettings, ClientIp
from kit.errors import error_responses

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


PHONE_ERRORS = [
    (422, "invalid_phone_number", "not a valid number"),
    (422, "phone_number_not_supported", "not a mobile number (premium-rate, toll-free, VoIP, landline, ...)"),
    (422, "phone_country_not_supported", "a number of a region outside SMS_ALLOWED_COUNTRIES"),
    (503, "service_unavailable", "the rate limiter (Redis) is down"),
]
# What texting a code can refuse beyond the number itself: the cooldown and the OTP budgets.
SEND_ERRORS = [
    (429, "otp_cooldown", "a code was sent to this number less than OTP_RESEND_COOLDOWN_S ago"),
    (429, "rate_limited", "RATE_OTP_PER_HOUR codes already sent to this number this hour"),
    (429, "otp_network_limit", "RATE_OTP_PER_IP_PER_HOUR codes already sent for this address"),
    (429, "otp_prefix_limit", "RATE_OTP_PER_PREFIX_PER_HOUR codes already sent to this block of numbers"),
    (429, "otp_global_limit", "RATE_OTP_GLOBAL_PER_HOUR codes already sent by the service"),
    (503, "sms_failed", "the SMS provider did not accept the message"),
]


@router.post(
    "/send-otp",
    response_model=SendOtpResponse,
    responses=error_responses(
        *PHONE_ERRORS,
        *SEND_ERRORS,
    ),
)
async def send_otp(body: SendOtpRequest, otp: Otp, ip: ClientIp) -> SendOtpResponse:
    """Text a 6-digit code to a mobile number of an allowed country (same answer whether or not it has an account)."""
    return SendOtpResponse(expires_in=await otp.send(body.phone_number, ip))


@router.post(
    "/verify-otp",
    response_model=VerifyOtpResponse,
    responses=error_responses(
        *PHONE_ERRORS,
        (400, "otp_expired", "no open code for this number, or it expired"),
        (400, "invalid_otp", "wrong code; the message says how many attempts are left"),
        (403, "account_banned", "the account was banned"),
        (429, "too_many_attempts", "too many wrong codes for this number, or failures from this address"),
    ),
)
async def verify_otp(
    body: VerifyOtpRequest, otp: Otp, session: Session, settings: AppSettings, ip: ClientIp, request: Request
) -> VerifyOtpResponse:
    """Check the code; create the account on first login and return access and refresh tokens."""
    user = await otp.verify(body.phone_number, body.otp, ip)
    device = device_label(body.device_name, request.headers.get("user-agent"))
    tokens = await SessionService(AuthRepository(session), settings).start(user.id, device, coarse_network(ip))
    return VerifyOtpResponse(
        token=tokens.access,
        refresh_token=tokens.refresh,
        expires_in=tokens.expires_in,
        user=UserOut(id=user.id, phone_number=user.phone_number, is_verified=user.is_verified),
    )


@router.post(
    "/refresh-token",
    response_model=RefreshResponse,
    responses=error_responses(
        (401, "refresh_token_reused", "this refresh token was already used: the session is ended now"),
    ),
)
async def refresh_token(
    session: Session,
    settings: AppSettings,
    events: Events,
    ip: ClientIp,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> RefreshResponse:
    """Trade the refresh token (as the Bearer credential) for a new access and refresh token."""
    try:
        tokens = await SessionService(AuthRepository(session), settings).refresh(
            bearer_token(credentials), coarse_network(ip)
        )
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


@router.get("/sessions", response_model=SessionsResponse)
async def sessions(caller: CurrentUser, session: Session, settings: AppSettings) -> SessionsResponse:
    """The caller's logged-in devices, most recently used first; `current` marks this one."""
    rows = await DeviceService(AuthRepository(session), settings).sessions(caller.id)
    return SessionsResponse(
        sessions=[
            SessionOut(
                id=row.id,
                device_name=row.device_name,
                network=row.network,
                created_at=row.created_at,
                last_used_at=row.last_used_at or row.created_at,
                current=row.id == caller.session_id,
            )
            for row in rows
        ]
    )


@router.delete(
    "/sessions/{session_id:uuid}",
    response_model=MessageResponse,
    responses=error_responses(
        (404, "session_not_found", "not a session of the caller's"),
    ),
)
async def revoke_session(
    session_id: uuid.UUID, caller: CurrentUser, session: Session, settings: AppSettings, events: Events
) -> MessageResponse:
    """End one of the caller's sessions (another device, or this one): its tokens stop working, its sockets close."""
    if await DeviceService(AuthRepository(session), settings).revoke(caller.id, session_id):
        after_commit(session, events.session_ended, caller.id, session_id, "revoked")
    return MessageResponse(message="Session ended")


@router.post("/logout-all", response_model=LogoutAllResponse)
async def logout_all(caller: CurrentUser, session: Session, settings: AppSettings, events: Events) -> LogoutAllResponse:
    """End every session of the caller's but this one: their tokens stop working, their sockets close."""
    ended = await DeviceService(AuthRepository(session), settings).revoke_others(caller.id, caller.session_id)
    for session_id in ended:
        after_commit(session, events.session_ended, caller.id, session_id, "revoked")
    return LogoutAllResponse(revoked=len(ended))


@router.post(
    "/change-phone/send-otp",
    response_model=SendOtpResponse,
    responses=error_responses(
        *PHONE_ERRORS,
        (422, "same_phone_number", "the number is already the caller's"),
        *SEND_ERRORS,
    ),
)
async def change_phone_send(
    body: ChangePhoneSendRequest, caller: CurrentUser, otp: Otp, ip: ClientIp
) -> SendOtpResponse:
    """Text a code to the number the caller wants to move their account to (same answer whether or not it is taken)."""
    return SendOtpResponse(expires_in=await PhoneChangeService(otp).send(caller.id, body.phone_number, ip))


@router.post(
    "/change-phone",
    response_model=ChangePhoneResponse,
    responses=error_responses(
        *PHONE_ERRORS,
        (400, "otp_expired", "no open code for this number from change-phone/send-otp, or it expired"),
        (400, "invalid_otp", "wrong code; the message says how many attempts are left"),
        (409, "phone_number_taken", "another account has this number"),
        (422, "same_phone_number", "the number is already the caller's"),
        (429, "too_many_attempts", "too many wrong codes for this number, or failures from this address"),
    ),
)
async def change_phone(body: ChangePhoneRequest, caller: CurrentUser, otp: Otp, ip: ClientIp) -> ChangePhoneResponse:
    """Move the caller's account to the number the code was texted to; the old number is free again."""
    user = await PhoneChangeService(otp).change(caller.id, body.phone_number, body.otp, ip)
    return ChangePhoneResponse(user=UserOut(id=user.id, phone_number=user.phone_number, is_verified=user.is_verified))
