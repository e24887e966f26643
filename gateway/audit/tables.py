"""Tables of the audit log.

``audit_entries`` holds what happened (the canonical body, plus a few columns copied from it for
searching); ``audit_leaves`` gives each entry its place in the Merkle tree; ``audit_nodes`` keeps
the hash of every perfect subtree for proofs; ``audit_checkpoints`` the signed tree heads.
New entries wait in ``audit_pending`` until the sequencer gives them a place. Triggers (see the
migration) make entries, leaves, nodes and checkpoints append-only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, UTCDateTime

# SQLite only auto-numbers an INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    event: Mapped[str] = mapped_column(String(48), index=True)
    # Copies of body fields for searching; NULL once the body is pruned.
    actor: Mapped[str | None] = mapped_column(String(64))
    requester: Mapped[str | None] = mapped_column(String(64), index=True)
    provider: Mapped[str | None] = mapped_column(String(64), index=True)
    decision: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(48))
    purpose: Mapped[str | None] = mapped_column(String(48))
    categories: Mapped[str | None] = mapped_column(Text)  # " a b c " for exact-word search
    subject: Mapped[str | None] = mapped_column(String(80), index=True)
    body: Mapped[str | None] = mapped_column(Text)  # RFC 8785 canonical JSON


class AuditPending(Base):
    __tablename__ = "audit_pending"

    entry_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class AuditLeaf(Base):
    __tablename__ = "audit_leaves"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditNode(Base):
    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditState(Base):
    """The sequencer's working state: the tree size and its right edge (one row)."""

    __tablename__ = "audit_state"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[list] = mapped_column(JSON)


class AuditCosignature(Base):
    """A witness's cosignature on the checkpoint of ``size``, verified with the witness's key
    before it was stored (C2SP tlog-cosignature)."""

    __tablename__ = "audit_cosignatures"

    witness: Mapped[str] = mapped_column(String(200), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, index=True)
    signature: Mapped[str] = mapped_column(Text)  # the signature line, without its newline
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditWitness(Base):
    """Where each configured witness stands: the size it last cosigned, the last attempt, and
    the last problem (a short code and a text without personal data; NULL when none)."""

    __tablename__ = "audit_witnesses"

    witness: Mapped[str] = mapped_column(String(200), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    cosigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    problem: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
