"""The release ledger: every time data was handed to a recipient, one row per category.

Withdrawal notices are made from it alone (``gateway.release.withdrawal``): whatever reached an
agency under a consent is here, whatever became of the exchange or message since."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime


class Kind(StrEnum):
    """How data was handed over."""

    QUERY = "query"  # a query's answer, to the agency that asked
    # A message taken into the recipient's inbox: the sender's disclosure, not yet received.
    MESSAGE_ACCEPTED = "message_accepted"
    MESSAGE_FETCHED = "message_fetched"  # a message handed to its recipient (each fetch)


class Release(Base):
    __tablename__ = "releases"
    __table_args__ = (Index("ix_releases_consent", "consent_id", "released_at"),)

    # The release: a query's exchange id; a fresh id for each message accepted or fetched.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    category: Mapped[str] = mapped_column(String(48), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    message_id: Mapped[str | None] = mapped_column(String(36))  # for the message kinds
    provider: Mapped[str] = mapped_column(String(64))  # whose data it is: the queried, the sender
    recipient: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(36), index=True)
    purpose: Mapped[str] = mapped_column(String(48))
    # "<policy id>/<flow id>"; unknown (NULL) only for queries recorded before the ledger kept it
    policy_flow: Mapped[str | None] = mapped_column(String(200))
    consent_id: Mapped[str | None] = mapped_column(String(36))  # NULL: a statute was the basis
    consent_version: Mapped[int | None] = mapped_column(Integer)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime)
