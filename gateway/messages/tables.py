"""Table of messages. The payload is only ever stored sealed (AES-256-GCM under a data key that
a key-encryption key wraps); the metadata stays for the audit after the payload is deleted."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime


class State(StrEnum):
    PENDING = "pending"  # waiting in the inbox (fetched or not): delivery is at-least-once
    ACKNOWLEDGED = "acknowledged"  # the recipient has it; the payload is deleted
    WITHHELD = "withheld"  # its consent or grant no longer holds; the payload is deleted
    EXPIRED = "expired"  # never acknowledged in time; the payload is deleted


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_inbox", "recipient", "state", "created_at", "id"),
        Index("ix_messages_expiry", "state", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sender: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(36), index=True)
    category: Mapped[str] = mapped_column(String(48))
    purpose: Mapped[str] = mapped_column(String(48))
    legal_basis: Mapped[str] = mapped_column(String(200))
    policy_flow: Mapped[str] = mapped_column(String(200))
    consent_id: Mapped[str | None] = mapped_column(String(36), index=True)
    consent_version: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(48))  # why withheld
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # acked, withheld, expired
    # The sealed payload; all four are NULL once it is deleted.
    key_id: Mapped[str | None] = mapped_column(String(64))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    nonce: Mapped[bytes | None] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
