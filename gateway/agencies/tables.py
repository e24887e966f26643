"""Tables of the client registry."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.db.base import Base, UTCDateTime, utcnow


class ClientRole(StrEnum):
    AGENCY = "agency"
    DPO = "dpo"
    MONITORING = "monitoring"


class Client(Base):
    """An OAuth 2.0 client of the gateway: an agency system, a DPO tool or the monitoring office."""

    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint("(jwks IS NULL) <> (secret_hash IS NULL)", name="one_credential"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    # Exactly one of the two credentials is set: a public JWK set (private_key_jwt) or the
    # scrypt hash of a client secret (client_secret_basic).
    jwks: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    secret_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    scopes: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Demo clients are refused unless the gateway runs with --demo.
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    agency: Mapped[Agency | None] = relationship(back_populates="client", lazy="joined")

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class Agency(Base):
    """The agency behind an agency client: what kind it is and where."""

    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(
        String(64), ForeignKey("clients.id", ondelete="RESTRICT"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), index=True)
    municipality: Mapped[str] = mapped_column(String(100), index=True)
    provider_url: Mapped[str | None] = mapped_column(Text, nullable=True)

    # Every use of an agency asks whether its client is enabled: load both in one query.
    client: Mapped[Client] = relationship(back_populates="agency", lazy="joined")


class AgencyContact(Base):
    """How a person reaches the agency (see ``gateway.agencies.contacts``); one row per agency
    that has any, kept apart from ``agencies``, which every decision reads."""

    __tablename__ = "agency_contacts"

    agency_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    website: Mapped[str | None] = mapped_column(Text, nullable=True)
    hours: Mapped[str | None] = mapped_column(Text, nullable=True)
    interpreter: Mapped[str | None] = mapped_column(Text, nullable=True)
    privacy_contact: Mapped[str | None] = mapped_column(Text, nullable=True)
    privacy_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
