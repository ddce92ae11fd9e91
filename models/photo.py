"""Profile photos. The stored objects are named by keys; `photo_url` is the display variant's path."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at, uuid_pk


class ProfilePhoto(Base):
    __tablename__ = "profile_photos"
    __table_args__ = (
        # At most one primary photo per user, enforced by the database itself.
        Index("uq_profile_photos_one_primary", "user_id", unique=True, postgresql_where=text("is_primary")),
        Index("ix_profile_photos_user_order", "user_id", "order_index"),
        # The media janitor asks whether a key is still referenced (migration 0002).
        Index("ix_profile_photos_storage_key", "storage_key"),
        Index("ix_profile_photos_thumbnail_key", "thumbnail_key"),
        Index("ix_profile_photos_created_at", "created_at"),  # the feed index's incremental refresh (0003)
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    photo_url: Mapped[str] = mapped_column(String(500), nullable=False)
    is_primary: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false", default=False)
    order_index: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0", default=0)
    storage_key: Mapped[str | None] = mapped_column(String(255))
    thumbnail_key: Mapped[str | None] = mapped_column(String(255))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at()


class MediaDeletion(Base):
    """Stored objects whose deletion failed; retried until the store confirms."""

    __tablename__ = "media_deletions"
    __table_args__ = (Index("ix_media_deletions_next_attempt_at", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    storage_key: Mapped[str] = mapped_column(String(255), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0", default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
