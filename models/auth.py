"""Login state: OTP challenges and sessions (one per device login)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at, uuid_pk


class OtpChallenge(Base):
    __tablename__ = "otp_challenges"
    __table_args__ = (Index("ix_otp_challenges_phone_created", "phone_number", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    phone_number: Mapped[str] = mapped_column(String(16), nullable=False)
    code_hmac: Mapped[str] = mapped_column(String(64), nullable=False)
    # `login` (verify-otp) or `change_phone` (a code that only moves its requester's account to
    # this number; its HMAC is bound to that account too).
    purpose: Mapped[str] = mapped_column(String(16), nullable=False, server_default="login", default="login")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0", default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class AuthSession(Base):
    """A login. Access and refresh tokens name it (`sid`); revoking it kills both."""

    __tablename__ = "auth_sessions"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Hash of the jti of the only refresh token that may still be used.
    refresh_jti_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = created_at()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(String(32))
    # The device list (GET /auth/sessions): the client's name for itself or its User-Agent, and the
    # login address's /24 (IPv4) or /48 (IPv6), never the address itself.
    device_name: Mapped[str | None] = mapped_column(String(100))
    network: Mapped[str | None] = mapped_column(String(64))
