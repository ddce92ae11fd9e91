"""Users: the account behind a phone number."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at, uuid_pk


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("idx_users_verified", "is_verified"),
        # The feed index's incremental refresh reads users changed or active after a watermark (0003).
        Index("ix_users_updated_at", "updated_at"),
        Index("ix_users_last_active_at", "last_active_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    phone_number: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    # Seed columns kept for compatibility; live OTP state is in otp_challenges, because a
    # code is sent before any user exists and the answer must not reveal whether one does.
    otp_hash: Mapped[str | None] = mapped_column(String(255))
    otp_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_verified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false", default=False)
    last_login: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_active_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_moderator: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false", default=False)
    banned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ban_reason: Mapped[str | None] = mapped_column(String(255))
    # Set by the automatic report threshold; hides the profile from feeds until reviewed.
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by DELETE /account: out of every list at once, erased ACCOUNT_PURGE_DELAY_S later.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the purge texted "inactive, will be erased" (once per stretch of inactivity).
    inactivity_warned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )
