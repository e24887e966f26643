"""Table of computed months: each month's indicators, computed once after it ended and fixed.

Only what may be published is stored (suppressed figures without their value); nothing here
names or counts a person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime


class MonitoringMonth(Base):
    __tablename__ = "monitoring_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    threshold: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    figures: Mapped[list] = mapped_column(JSON)
