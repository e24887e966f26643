"""Tables of exchanges: every query, and what was released under which consent (the ledger the
withdrawal notices are made from)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime


class Exchange(Base):
    __tablename__ = "exchanges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    requester: Mapped[str] = mapped_column(String(64), index=True)
    provider: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(36), index=True)
    purpose: Mapped[str] = mapped_column(String(48))
    categories: Mapped[list] = mapped_column(JSON)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Release(Base):
    """One category released in an exchange, with the consent version it rested on (if any)."""

    __tablename__ = "exchange_releases"

    exchange_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("exchanges.id", ondelete="RESTRICT"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(48), primary_key=True)
    consent_id: Mapped[str | None] = mapped_column(String(36), index=True)
    consent_version: Mapped[int | None] = mapped_column(Integer)
