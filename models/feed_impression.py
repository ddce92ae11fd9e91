"""Which candidates a feed has shown to whom: the durable proof that two people could have met."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, PrimaryKeyConstraint, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class FeedImpression(Base):
    """One row per (viewer, candidate), written when a feed page shows the candidate; repeats keep
    the first time. Read by safety (only reporters who could have met someone count towards hiding)."""

    __tablename__ = "feed_impressions"
    __table_args__ = (
        PrimaryKeyConstraint("viewer_id", "candidate_id", name="pk_feed_impressions"),
        # Deleting a user cascades here by candidate too; without this that is a sequential scan.
        Index("ix_feed_impressions_candidate", "candidate_id"),
    )

    viewer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    candidate_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    first_shown_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
