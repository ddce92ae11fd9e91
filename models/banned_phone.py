"""Numbers a ban keeps out after the banned account is erased: only an HMAC of each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at


class BannedPhone(Base):
    """Written when a banned account is erased, so its number cannot sign up again (ban evasion).
    The HMAC (kit.security.phone_hmac) matches the number at login but does not reveal it."""

    __tablename__ = "banned_phones"

    phone_hmac: Mapped[str] = mapped_column(String(64), primary_key=True)
    banned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = created_at()
