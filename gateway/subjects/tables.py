"""Tables of subjects and their per-agency references."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime


class Subject(Base):
    """A person, known inside the gateway only by an opaque id."""

    __tablename__ = "subjects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SubjectReference(Base):
    """One agency's file reference for a subject; unique per agency."""

    __tablename__ = "subject_references"
    # One reference per agency and person: an agency names a person one way.
    __table_args__ = (UniqueConstraint("agency_id", "subject_id"),)

    agency_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("agencies.id", ondelete="RESTRICT"), primary_key=True
    )
    reference: Mapped[str] = mapped_column(String(128), primary_key=True)
    subject_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("subjects.id", ondelete="RESTRICT"), index=True
    )


class SubjectControl(Base):
    """What a DPO set on a person (Art. 18 GDPR and legal holds): a restriction (no release,
    nothing erased) and a hold (nothing erased, releases go on). The row exists only while
    one of them is set; the notes are the DPO's own words, shown on the DPO pages and never
    written to the audit log."""

    __tablename__ = "subject_controls"

    subject_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("subjects.id", ondelete="RESTRICT"), primary_key=True
    )
    restricted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restricted_by: Mapped[str | None] = mapped_column(String(64))
    restriction_note: Mapped[str | None] = mapped_column(String(500))
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_by: Mapped[str | None] = mapped_column(String(64))
    hold_note: Mapped[str | None] = mapped_column(String(500))
