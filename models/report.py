"""Reports against users, with the evidence captured when they were filed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at, uuid_pk

REPORT_STATUSES = ("pending", "reviewing", "actioned", "dismissed")


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(f"status IN {REPORT_STATUSES}", name="status"),
        CheckConstraint("reporter_id <> reported_user_id", name="not_self"),
        Index("ix_reports_reported_created", "reported_user_id", "created_at"),
        Index("ix_reports_status", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # Plain ids, no foreign keys: a report is safety evidence and outlives an erased account for
    # REPORT_RETENTION_DAYS (README, "Data we keep"); the account purge deletes it after that.
    reporter_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    reported_user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    # Set when the reported account is erased: an HMAC of its number (kit.security.phone_hmac).
    reported_phone_hmac: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending", default="pending")
    match_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # A copy, not a reference: unmatching or deleting messages later cannot destroy it.
    evidence: Mapped[dict | None] = mapped_column(JSONB)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
