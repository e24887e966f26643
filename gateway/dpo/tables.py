"""Table of DPO users (people who sign in to the /dpo/ pages)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime


class DpoUser(Base):
    __tablename__ = "dpo_users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the sign-in name
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(Text)  # scrypt, as client secrets
    # The TOTP secret, when TOTP is on: sealed as message payloads are (AES-256-GCM under a
    # data key wrapped by a key-encryption key of the key folder), never stored in clear.
    totp_key_id: Mapped[str | None] = mapped_column(String(64))
    totp_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_nonce: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The time step of the last one-time code accepted: none at or before it is taken again.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def has_totp(self) -> bool:
        return self.totp_ciphertext is not None
