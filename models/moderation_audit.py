"""The moderation audit trail: who did what to whom, and when. Append-only."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at, uuid_pk

# report_resolved: a moderator set a report's status; user_banned: a moderator banned a user;
# user_auto_hidden: the report threshold hid a profile (no actor).
AUDIT_ACTIONS = ("report_resolved", "user_banned", "user_auto_hidden")


class ModerationAudit(Base):
    __tablename__ = "moderation_audit"
    __table_args__ = (
        CheckConstraint(f"action IN {AUDIT_ACTIONS}", name="action"),
        Index("ix_moderation_audit_created", "created_at", "id"),
        Index("ix_moderation_audit_target", "target_user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # Plain ids, no foreign keys: the trail must outlive the accounts and reports it names.
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # None: done by the system
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    target_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    report_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    details: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}", default=dict)
    created_at: Mapped[datetime] = created_at()
