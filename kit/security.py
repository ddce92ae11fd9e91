"""Tokens, OTP hashing and phone masking: the few primitives every domain trusts."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Literal

import jwt

from kit.settings import Settings

ALGORITHM = "HS256"  # pinned: decode never accepts another algorithm (no `alg: none`)
TokenType = Literal["access", "refresh"]


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    jti: str
    type: TokenType
    expires_at: int


class TokenError(Exception):
    pass


def issue_token(
    settings: Settings, user_id: uuid.UUID, session_id: uuid.UUID, type_: TokenType, jti: str | None = None
) -> tuple[str, str, int]:
    """Return (token, jti, ttl seconds)."""
    ttl = settings.access_token_ttl_s if type_ == "access" else settings.refresh_token_ttl_s
    now = int(time.time())
    jti = jti or secrets.token_urlsafe(16)
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
        "jti": jti,
        "type": type_,
        "iat": now,
        "exp": now + ttl,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM), jti, ttl


def decode_token(settings: Settings, token: str, expected: TokenType) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "sid", "jti", "type", "exp", "iat", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("Token has expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("Token is invalid") from exc
    if claims.get("type") != expected:
        raise TokenError(f"An {expected} token is required")
    try:
        return TokenClaims(
            uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"]), str(claims["jti"]), expected, int(claims["exp"])
        )
    except (ValueError, TypeError) as exc:
        raise TokenError("Token is invalid") from exc


def new_otp_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def otp_digest(settings: Settings, phone: str, code: str) -> str:
    """HMAC of the code bound to the number: a leaked table reveals no codes."""
    return hmac.new(settings.otp_key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def digest_matches(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def token_fingerprint(jti: str) -> str:
    return hashlib.sha256(jti.encode()).hexdigest()


# "+" and 8+ digits (spaces, dashes, brackets allowed), or a bare run of 8-15 digits; never
# inside a longer token, so UUIDs, hashes and timestamps pass through untouched.
_PHONE_RE = re.compile(r"(?<![\w+-])(?:\+\d[\d \-()]{6,}\d|\d{8,15})(?![\w-])")


def phone_hmac(settings: Settings, phone: str) -> str:
    """What outlives an erased account in place of its number (a ban, reports): equal numbers give
    equal values, and without the key (OTP_SECRET, else JWT_SECRET) the number cannot be recovered."""
    return hmac.new(settings.otp_key, f"phone:{phone}".encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """`+12025550123` -> `+1******0123`: enough to debug, not enough to call."""
    digits = phone.lstrip("+")
    if len(digits) <= 5:
        return "+" + "*" * len(digits)
    return "+" + digits[:1] + "*" * (len(digits) - 5) + digits[-4:]


def mask_phones_in(text: str) -> str:
    return _PHONE_RE.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group())), text)
