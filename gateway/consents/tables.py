"""Tables of the consent registry.

A consent has versions; a version is never edited except to end it (withdrawn or superseded).
Its permissions are stored one row per (provider, recipient, category, purpose), keyed by the
subject, so the check is an indexed lookup however many consents there are.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime


class ConsentRecord(Base):
    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("subjects.id", ondelete="RESTRICT"), index=True
    )
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    current_version: Mapped[int] = mapped_column(Integer)


class ConsentVersion(Base):
    __tablename__ = "consent_versions"

    consent_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("consents.id", ondelete="RESTRICT"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16))  # active, withdrawn, superseded
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    grants: Mapped[list] = mapped_column(JSON)
    given_by: Mapped[list] = mapped_column(JSON)
    # The person's age band when the consent was recorded (consent.model.AgeBand), which decides
    # who must give it; None for versions recorded before the gateway asked (migration 0014).
    subject_age_band: Mapped[str | None] = mapped_column(String(16))
    notice: Mapped[dict] = mapped_column(JSON)
    evidence: Mapped[dict] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))
    caseworker: Mapped[str | None] = mapped_column(String(64))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(64))
    withdrawal_channel: Mapped[str | None] = mapped_column(String(16))
    # Expiry is a fact checked at every use; this only marks that it has been audited.
    expiry_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receipt: Mapped[str] = mapped_column(Text)


class ConsentPermission(Base):
    __tablename__ = "consent_permissions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["consent_id", "version"],
            ["consent_versions.consent_id", "consent_versions.version"],
            ondelete="RESTRICT",
        ),
        Index("ix_consent_permissions_lookup", "subject_id", "provider", "recipient"),
    )

    consent_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[str] = mapped_column(String(48), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(48), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(36))


class ConsentParty(Base):
    """Agencies that may read a consent: the recorder and every agency in any of its grants."""

    __tablename__ = "consent_parties"

    consent_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("consents.id", ondelete="RESTRICT"), primary_key=True
    )
    agency_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class PortalCode(Base):
    """A portal code given to a person: which agency issued it, when, with which consent (only
    its hash is kept). A person has one live code at most: a new one ends those before it."""

    __tablename__ = "portal_codes"
    # One live code per person, whatever races: a second one cannot be written.
    __table_args__ = (
        Index(
            "uq_portal_codes_live",
            "subject_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # what audit entries name
    subject_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("subjects.id", ondelete="RESTRICT"), index=True
    )
    consent_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("consents.id", ondelete="RESTRICT"), index=True
    )
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
