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
