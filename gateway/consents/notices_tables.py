"""Table of withdrawal notices: a recipient is told which exchanges a withdrawal affects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime


class WithdrawalNotice(Base):
    __tablename__ = "withdrawal_notices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(64), index=True)
    consent_id: Mapped[str] = mapped_column(String(36), index=True)
    consent_version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exchanges: Mapped[list] = mapped_column(JSON)
    messages: Mapped[list] = mapped_column(JSON)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))  # deleted | retained
    legal_reason: Mapped[str | None] = mapped_column(Text)
