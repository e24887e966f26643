"""Table of rectification notices: a person says that information an agency released about them
is wrong; the notice goes to the agency the information came from (the provider), which
answers whether it corrected it.

The person's own words are only ever stored sealed (as message payloads are,
``gateway.messages.sealing``) and deleted once the provider has answered."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime


class Outcome(StrEnum):
    CORRECTED = "corrected"
    NOT_CORRECTED = "not_corrected"  # with the provider's reason


class Rectification(Base):
    __tablename__ = "rectifications"
    # One open notice per person, providing agency and category: the information is the
    # provider's, however often it was passed on. A second one cannot be written, whatever races.
    __table_args__ = (
        Index(
            "uq_rectifications_open",
            "subject_id",
            "provider",
            "category",
            unique=True,
            sqlite_where=text("answered_at IS NULL"),
            postgresql_where=text("answered_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(36), index=True)
    provider: Mapped[str] = mapped_column(String(64), index=True)  # whose information it is
    recipient: Mapped[str] = mapped_column(String(64))  # who received it in the release flagged
    category: Mapped[str] = mapped_column(String(48))
    release_id: Mapped[str] = mapped_column(String(36))  # the ledger row's id (may go before)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_id: Mapped[str | None] = mapped_column(String(36), index=True)  # NULL: a statute
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The person's text, sealed; all four NULL without a text, and once answered.
    key_id: Mapped[str | None] = mapped_column(String(64))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    nonce: Mapped[bytes | None] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))  # an Outcome
    reason: Mapped[str | None] = mapped_column(Text)  # the provider's, when not corrected
