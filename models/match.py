"""Matches between two users and the swipes that make them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at, uuid_pk

SWIPE_ACTIONS = ("like", "pass")


class Match(Base):
    __tablename__ = "matches"
    __table_args__ = (
        # Canonical pair order: (a, b) and (b, a) are the same row, so a pair matches once.
        CheckConstraint("user1_id < user2_id", name="canonical_pair"),
        UniqueConstraint("user1_id", "user2_id", name="uq_matches_pair"),
        Index("ix_matches_user1", "user1_id"),
        Index("ix_matches_user2", "user2_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user1_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    user2_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    matched_at: Mapped[datetime] = created_at()
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true", default=True)
    unmatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unmatched_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    end_reason: Mapped[str | None] = mapped_column(String(20))
    # Per-match message counter: `UPDATE ... RETURNING last_seq` orders messages durably.
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0", default=0)
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()

    def other(self, user_id: uuid.UUID) -> uuid.UUID:
        return self.user2_id if self.user1_id == user_id else self.user1_id


def canonical_pair(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (a, b) if str(a) < str(b) else (b, a)


class Swipe(Base):
    __tablename__ = "swipes"
    __table_args__ = (
        CheckConstraint(f"action IN {SWIPE_ACTIONS}", name="action"),
        CheckConstraint("swiper_id <> swiped_id", name="not_self"),
        UniqueConstraint("swiper_id", "swiped_id", name="uq_swipes_pair"),
        Index("ix_swipes_swiper", "swiper_id", "created_at"),
        Index("ix_swipes_swiped_action", "swiped_id", "action"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    swiper_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    swiped_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    action: Mapped[str] = mapped_column(String(10), nullable=False)
    created_at: Mapped[datetime] = created_at()
