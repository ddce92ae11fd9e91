"""Login rules: OTP issue and verification, sessions, token rotation and revocation."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from deployments.auth.budgets import SmsBudget
from deployments.auth.phones import PhonePolicy, normalize_phone  # noqa: F401 (safety's CLI imports it from here)
from deployments.auth.repository import AuthRepository
from deployments.auth.sms import SmsProvider
from kit.addresses import address_key
from kit.errors import AppError, Conflict, Forbidden, NotFound, RateLimited, Unauthorized, Unprocessable
from kit.redis import RateLimiter
from kit.security import (
    TokenError,
    decode_token,
    digest_matches,
    issue_token,
    mask_phone,
    new_otp_code,
    otp_digest,
    phone_hmac,
    token_fingerprint,
)
from kit.settings import Settings
from models import AuthSession, User

log = logging.getLogger("app.auth")
HOUR = 3600
LOGIN, CHANGE_PHONE = "login", "change_phone"  # what an OTP challenge is for (otp_challenges.purpose)


class InvalidOtp(AppError):
    status, code = 400, "invalid_otp"
    commit = True  # the wrong guess must be counted even though the request fails


class SessionEnded(AppError):
    """A refresh that ended its session: the revocation commits, then its sockets are told."""

    status = 401
    commit = True
    reason = "revoked"

    def __init__(self, message: str, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        super().__init__(message)
        self.user_id, self.session_id = user_id, session_id


class RefreshReused(SessionEnded):
    code, reason = "refresh_token_reused", "refresh_reuse"


class SessionExpired(SessionEnded):
    code, reason = "session_expired", "expired"


def end_reason(caller: Any, max_age_s: int, now: datetime | None = None) -> str | None:
    """Why a session no longer admits its tokens (`load_caller`'s row; None: it still does).
    The names are the `reason` of the socket event `session_ended`."""
    if caller is None:
        return "revoked"
    if caller.revoked_at is not None:
        return caller.revoke_reason or "revoked"
    if caller.banned_at is not None:
        return "banned"
    if caller.deleted_at is not None:
        return "account_deleted"
    if session_deadline(caller.session_created_at, max_age_s) <= (now or datetime.now(UTC)):
        return "expired"
    return None


def session_deadline(created_at: datetime, max_age_s: int) -> datetime:
    """The hard end of a session (SESSION_MAX_AGE_S after login), whatever its rotations."""
    return created_at + timedelta(seconds=max_age_s)


class SessionReader:
    """How long-lived connections (the realtime sockets) re-read their session: reads only."""

    def __init__(self, session: AsyncSession, max_age_s: int) -> None:
        self.repo, self.max_age_s = AuthRepository(session), max_age_s

    async def check(self, session_id: uuid.UUID, user_id: uuid.UUID) -> tuple[str | None, datetime | None]:
        """(why the session ended, None), or (None, when it will end)."""
        caller = await self.repo.load_caller(session_id, user_id)
        reason = end_reason(caller, self.max_age_s)
        if reason is not None:
            return reason, None
        return None, session_deadline(caller.session_created_at, self.max_age_s)

    async def ended(self, sessions: dict[uuid.UUID, uuid.UUID]) -> dict[str, str]:
        """Of these sessions (session id -> its user), those that ended: session id -> why."""
        rows = await self.repo.session_states(list(sessions))
        ended = {}
        for session_id, user_id in sessions.items():
            row = rows.get(session_id)
            if row is not None and row.user_id != user_id:
                row = None  # a token naming another user's session: not this session
            reason = end_reason(row, self.max_age_s)
            if reason is not None:
                ended[str(session_id)] = reason
        return ended


class SessionRevoker:
    """Ends every session of a user in the caller's transaction (a ban, an account deletion)."""

    def __init__(self, session: AsyncSession) -> None:
        self._repo = AuthRepository(session)

    async def revoke_all(self, user_id: uuid.UUID, reason: str) -> list[uuid.UUID]:
        return await self._repo.revoke_all_sessions(user_id, reason)


@dataclass
class IssuedTokens:
    access: str
    refresh: str
    expires_in: int


class OtpService:
    def __init__(self, repo: AuthRepository, limiter: RateLimiter, sms: SmsProvider, settings: Settings) -> None:
        self.repo, self.limiter, self.sms, self.settings = repo, limiter, sms, settings
        self.policy = PhonePolicy(settings.sms_countries)

    async def send(self, raw_phone: str, client_ip: str, purpose: str = LOGIN, user_id: uuid.UUID | None = None) -> int:
        # Number rules first (they read nothing stored, so known and unknown numbers are answered
        # alike), then the budgets: a refused number uses up no one's budget.
        number = self.policy.check(raw_phone)
        await SmsBudget(self.limiter, self.settings).take(number, client_ip)
        phone, code = number.e164, new_otp_code()
        expires_at = datetime.now(UTC) + timedelta(seconds=self.settings.otp_ttl_s)
        digest = otp_digest(self.settings, _code_subject(phone, purpose, user_id), code)
        await self.repo.add_challenge(phone, digest, expires_at, purpose)
        what = "verification code" if purpose == LOGIN else "code to move your account to this number"
        await self.sms.send(
            phone, f"Your {what} is {code}. It expires in {self.settings.otp_ttl_s // 60} minutes. Never share it."
        )
        log.info("OTP (%s) issued for %s", purpose, mask_phone(phone))
        return self.settings.otp_ttl_s

    async def verify(self, raw_phone: str, code: str, client_ip: str) -> User:
        phone = self.policy.check(raw_phone).e164  # the same refusals as send-otp: no oracle here either
        await self.consume(phone, code, client_ip, LOGIN, None)
        existing = await self.repo.find_user_by_phone(phone)
        if existing is not None and existing.banned_at is not None:
            raise Forbidden("This account has been banned", code="account_banned")
        if existing is None and await self.repo.number_banned(phone_hmac(self.settings, phone)):
            # The banned account was erased; its number stays out (ban evasion).
            raise Forbidden("This account has been banned", code="account_banned")
        # A deleted account not yet erased is restored by this login (upsert_verified_user).
        user = await self.repo.upsert_verified_user(phone)
        log.info("login verified for %s", mask_phone(phone))
        return user

    async def consume(self, phone: str, code: str, client_ip: str, purpose: str, user_id: uuid.UUID | None) -> None:
        """Check `code` against the number's open challenge of this purpose and use it up; every
        wrong or late code counts against the number and the address."""
        cap = self.settings.otp_max_attempts
        if (
            await self.limiter.peek("login_fail", address_key(client_ip), HOUR, fail_closed=True)
            >= self.settings.rate_login_failures_per_hour
        ):
            raise RateLimited(
                "Too many failed verifications from this network; try again later",
                RateLimiter._retry_after(HOUR),
                code="too_many_attempts",
            )
        challenge = await self.repo.lock_open_challenge(phone, purpose)
        now = datetime.now(UTC)
        if challenge is None or challenge.expires_at <= now:
            await self._count_failure(client_ip)
            raise InvalidOtp("The code is wrong or has expired; request a new one", code="otp_expired")
        failures = await self.repo.failures_since(phone, now - timedelta(hours=1))
        if challenge.attempts >= cap or failures >= cap:
            raise RateLimited(
                "Too many wrong codes for this number; try again later",
                RateLimiter._retry_after(HOUR),
                code="too_many_attempts",
            )
        if not digest_matches(
            challenge.code_hmac, otp_digest(self.settings, _code_subject(phone, purpose, user_id), code)
        ):
            challenge.attempts += 1
            await self._count_failure(client_ip)
            left = max(0, cap - max(challenge.attempts, failures + 1))
            raise InvalidOtp(f"The code is wrong; {left} attempt(s) left")
        challenge.consumed_at = now

    async def _count_failure(self, client_ip: str) -> None:
        try:
            await self.limiter.hit("login_fail", address_key(client_ip), 10**9, HOUR, fail_closed=True)
        except RateLimited:
            pass


class SessionService:
    def __init__(self, repo: AuthRepository, settings: Settings) -> None:
        self.repo, self.settings = repo, settings

    async def start(
        self, user_id: uuid.UUID, device_name: str | None = None, network: str | None = None
    ) -> IssuedTokens:
        session_id = uuid.uuid4()
        refresh, refresh_jti, _ = issue_token(self.settings, user_id, session_id, "refresh")
        await self.repo.create_session(
            user_id, session_id, token_fingerprint(refresh_jti), self.settings.refresh_token_ttl_s, device_name, network
        )
        access, _, ttl = issue_token(self.settings, user_id, session_id, "access")
        return IssuedTokens(access, refresh, ttl)

    async def refresh(self, refresh_token: str, network: str | None = None) -> IssuedTokens:
        try:
            claims = decode_token(self.settings, refresh_token, "refresh")
        except TokenError as exc:
            raise Unauthorized(str(exc), code="invalid_token") from exc
        session = await self.repo.lock_session(claims.session_id)
        if session is None or session.user_id != claims.user_id or session.revoked_at is not None:
            raise Unauthorized("This session has ended; log in again", code="session_revoked")
        if session_deadline(session.created_at, self.settings.session_max_age_s) <= datetime.now(UTC):
            # The hard lifetime: rotations do not extend it. Log in again.
            await self.repo.revoke_session(session.id, "expired")
            raise SessionExpired("This session has reached its maximum age; log in again", session.user_id, session.id)
        if not digest_matches(session.refresh_jti_hash, token_fingerprint(claims.jti)):
            # A rotated token came back: someone holds a copy. End the whole session.
            await self.repo.revoke_session(session.id, "refresh_reuse")
            raise RefreshReused(
                "Refresh token was already used; the session has been ended", session.user_id, session.id
            )
        refresh, refresh_jti, _ = issue_token(self.settings, claims.user_id, session.id, "refresh")
        await self.repo.rotate_refresh(
            session, token_fingerprint(refresh_jti), self.settings.refresh_token_ttl_s, network
        )
        access, _, ttl = issue_token(self.settings, claims.user_id, session.id, "access")
        return IssuedTokens(access, refresh, ttl)

    async def end(self, session_id: uuid.UUID) -> None:
        await self.repo.revoke_session(session_id, "logout")


def _code_subject(phone: str, purpose: str, user_id: uuid.UUID | None) -> str:
    """What a code's HMAC is bound to: the number for a login; the number, the purpose and the
    requesting account for anything else, so such a code serves nobody else and nothing else."""
    return phone if purpose == LOGIN else f"{phone}:{purpose}:{user_id}"


class PhoneChangeService:
    """Moving an account to another number, proven by a code texted to that number. Whether the
    number already has an account is said only to someone who just proved they hold it."""

    def __init__(self, otp: OtpService) -> None:
        self.otp, self.repo = otp, otp.repo

    async def send(self, user_id: uuid.UUID, raw_phone: str, client_ip: str) -> int:
        number = self.otp.policy.check(raw_phone)
        if number.e164 == await self.repo.phone_of(user_id):
            raise Unprocessable("This is already your phone number", code="same_phone_number")
        return await self.otp.send(raw_phone, client_ip, CHANGE_PHONE, user_id)

    async def change(self, user_id: uuid.UUID, raw_phone: str, code: str, client_ip: str) -> User:
        phone = self.otp.policy.check(raw_phone).e164
        await self.otp.consume(phone, code, client_ip, CHANGE_PHONE, user_id)
        old = await self.repo.phone_of(user_id)
        if phone == old:
            raise Unprocessable("This is already your phone number", code="same_phone_number")
        # A number whose banned account was erased stays out too (ban evasion), answered as taken.
        taken = await self.repo.find_user_by_phone(phone) or await self.repo.number_banned(
            phone_hmac(self.otp.settings, phone)
        )
        user = None if taken else await self.repo.move_to_phone(user_id, phone)
        if user is None:
            raise Conflict("This number belongs to another account", code="phone_number_taken")
        log.info("phone changed from %s to %s", mask_phone(old or ""), mask_phone(phone))
        return user


class DeviceService:
    """The caller's sessions (one per login on a device): list, end one, end all others."""

    def __init__(self, repo: AuthRepository, settings: Settings) -> None:
        self.repo, self.settings = repo, settings

    async def sessions(self, user_id: uuid.UUID) -> list[AuthSession]:
        return await self.repo.live_sessions(user_id, self.settings.session_max_age_s)

    async def revoke(self, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
        """End one of the caller's sessions; whether it was live until now. Someone else's: 404."""
        was_live = await self.repo.revoke_own_session(session_id, user_id, "revoked")
        if was_live is None:
            raise NotFound("No such session", code="session_not_found")
        return was_live

    async def revoke_others(self, user_id: uuid.UUID, current: uuid.UUID) -> list[uuid.UUID]:
        return await self.repo.revoke_other_sessions(user_id, current, "revoked")
