"""Tables of emergency access: the windows emergency queries open, and each use in them.

A window belongs to one person and one recipient agency (the youth welfare office that asked).
Its first emergency query opens it; for its length (the policy's maximum at most) that agency
may ask about that person in an emergency again, each time with a justification of its own.
Each window is reviewed by a DPO; its disclosure to the person may be deferred for a bounded
time, never for good.

A use's justification (the recipient's case number and its free text) is personal data: stored
only sealed, as message payloads are (``gateway.messages.sealing``), opened only for a DPO, and
that reading is audited. The audit log holds its reason code and a keyed digest of the text."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime


class Verdict(StrEnum):
    """A DPO's review of a window."""

    JUSTIFIED = "justified"
    NOT_JUSTIFIED = "not_justified"


class EmergencyWindow(Base):
    __tablename__ = "emergency_windows"
    __table_args__ = (Index("ix_emergency_windows_open", "subject_id", "recipient", "closes_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(36))
    recipient: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(64))  # the reason code of the use that opened it
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    review_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The DPO's review: all four set together, once.
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))  # the DPO user
    verdict: Mapped[str | None] = mapped_column(String(16))  # a Verdict
    review_comment: Mapped[str | None] = mapped_column(Text)  # the DPO's own words
    # Disclosure to the person deferred (where telling the parents at once would endanger the
    # child) until ``deferred_until``; after that the portal shows the window's uses again.
    deferred_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deferred_by: Mapped[str | None] = mapped_column(String(64))
    deferral_reason: Mapped[str | None] = mapped_column(Text)  # the DPO's own words
    # When the end of the deferral was recorded in the audit log (once, after deferred_until).
    deferral_end_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmergencyUse(Base):
    """One emergency query that released data, in its window."""

    __tablename__ = "emergency_uses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the exchange id
    window_id: Mapped[str] = mapped_column(String(36), index=True)
    subject_id: Mapped[str] = mapped_column(String(36), index=True)
    recipient: Mapped[str] = mapped_column(String(64), index=True)
    provider: Mapped[str] = mapped_column(String(64))
    categories: Mapped[str] = mapped_column(String(400))  # space-separated
    purpose: Mapped[str] = mapped_column(String(48))
    reason: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The justification ({"case_number", "text"} as JSON), sealed.
    key_id: Mapped[str | None] = mapped_column(String(64))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    nonce: Mapped[bytes | None] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
