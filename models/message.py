"""Chat messages. PostgreSQL holds every acknowledged message."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, uuid_pk

MESSAGE_TYPES = ("text", "photo", "gif")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(f"message_type IN {MESSAGE_TYPES}", name="message_type"),
        Index("ix_messages_match_seq", "match_id", "seq", unique=True),
        Index("ix_messages_sender", "sender_id"),
        # Retries with the same client id return the first message instead of a duplicate.
        Index(
            "uq_messages_client_id",
            "sender_id",
            "client_message_id",
            unique=True,
            postgresql_where=text("client_message_id IS NOT NULL"),
        ),
        # Unread counts per match and sender touch only the unread rows.
        Index("ix_messages_unread", "match_id", "sender_id", postgresql_where=text("NOT is_read")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # Indexed by ix_messages_match_seq (match_id first).
    match_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("matches.id", ondelete="CASCADE"), nullable=False
    )
    sender_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    content: Mapped[str] = mapped_column(Text, nullable=False)
    message_type: Mapped[str] = mapped_column(String(20), nullable=False, server_default="text", default="text")
    is_read: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false", default=False)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    client_message_id: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
