"""The row the readiness probe writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime


class ReadinessProbe(Base):
    """One row, written by every readiness check: a database that answers may still take no
    writes (a read-only file, a full disk), and a gateway that cannot write cannot serve.
    It holds nothing but the time of the last check."""

    __tablename__ = "readiness_probe"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
