"""Push notifications: device tokens, preferences, per-match mutes and the delivery outbox.

Outbox rows are written by database triggers (migration 0012) in the transaction that stores the
message, the match or the like: a rollback leaves no row, a commit always leaves one. The triggers
write only for users with a registered device, and collapse a burst into the user's open row of
the same `collapse_key` (a conversation, a match, likes). A revoked session's devices are deleted
by a trigger on `auth_sessions` too (logout, refresh reuse, ban), so no code path can forget them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at, uuid_pk

PLATFORMS = ("ios", "android")
PUSH_KINDS = ("new_match", "new_message", "new_like")


class PushDevice(Base):
    """A push token registered by one login (session); gone with the session or the user."""

    __tablename__ = "push_devices"
    __table_args__ = (
        CheckConstraint(f"platform IN {PLATFORMS}", name="platform"),
        Index("ix_push_devices_user", "user_id"),
        Index("ix_push_devices_session", "session_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    session_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("auth_sessions.id", ondelete="CASCADE"), nullable=False
    )
    platform: Mapped[str] = mapped_column(String(8), nullable=False)
    token: Mapped[str] = mapped_column(String(512), nullable=False, unique=True)
    app_version: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str | None] = mapped_column(String(35))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class NotificationSettings(Base):
    """A user's choices; no row means the defaults below."""

    __tablename__ = "notification_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    new_matches: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true", default=True)
    messages: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true", default=True)
    likes: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true", default=True)
    promotions: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false", default=False)
    message_previews: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false", default=False)
    quiet_hours_start: Mapped[time | None] = mapped_column(Time)
    quiet_hours_end: Mapped[time | None] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, server_default="UTC", default="UTC")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class MatchMute(Base):
    """A conversation the user muted: no pushes for its messages."""

    __tablename__ = "match_mutes"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    match_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("matches.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = created_at()


class PushOutbox(Base):
    """A notification to deliver to every device of `user_id`. `open` rows still absorb new
    events of their `collapse_key`; the dispatcher closes a row when it claims it."""

    __tablename__ = "push_outbox"
    __table_args__ = (
        CheckConstraint(f"kind IN {PUSH_KINDS}", name="kind"),
        Index("uq_push_outbox_open", "user_id", "collapse_key", unique=True, postgresql_where=text("open")),
        Index("ix_push_outbox_due", "not_before"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    collapse_key: Mapped[str] = mapped_column(String(64), nullable=False)
    match_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("matches.id", ondelete="CASCADE"))
    actor_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    ref_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # the latest message
    count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1", default=1)
    open: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true", default=True)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0", default=0)
    devices: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(UUID(as_uuid=True)))  # retry only these
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
