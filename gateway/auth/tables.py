"""Tables of the auth feature."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime


class UsedAssertion(Base):
    """A client assertion's `jti`, kept until the assertion expires so it can be used only once.

    It lives in the database (not in process memory) so that a replay is refused by every worker
    and every gateway instance sharing the database.
    """

    __tablename__ = "used_assertions"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
