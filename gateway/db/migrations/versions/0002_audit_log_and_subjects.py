"""Audit log (entries, Merkle leaves and nodes, checkpoints) with append-only triggers; subjects.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.db.base import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

APPEND_ONLY = ("audit_entries", "audit_leaves", "audit_nodes", "audit_checkpoints")
# Pruning an entry empties its body and searchable copies; nothing else may ever change.
DESCRIPTIVE = (
    "actor", "requester", "provider", "decision", "reason", "purpose", "categories", "subject",
    "body",
)  # fmt: skip
PRUNE_ONLY = " AND ".join(
    ["NEW.id = OLD.id", "NEW.recorded_at = OLD.recorded_at", "NEW.event = OLD.event"]
    + [f"NEW.{column} IS NULL" for column in DESCRIPTIVE]
)


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("event", sa.String(48), nullable=False),
        sa.Column("actor", sa.String(64)),
        sa.Column("requester", sa.String(64)),
        sa.Column("provider", sa.String(64)),
        sa.Column("decision", sa.String(8)),
        sa.Column("reason", sa.String(48)),
        sa.Column("purpose", sa.String(48)),
        sa.Column("categories", sa.Text()),
        sa.Column("subject", sa.String(80)),
        sa.Column("body", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    for column in ("recorded_at", "event", "requester", "provider", "subject"):
        op.create_index(op.f(f"ix_audit_entries_{column}"), "audit_entries", [column])
    op.create_table(
        "audit_pending",
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_audit_pending")),
    )
    op.create_table(
        "audit_leaves",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_leaves")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_audit_leaves_entry_id")),
    )
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_nodes")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "audit_state",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_state")),
    )
    op.create_table(
        "subjects",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
    )
    op.create_table(
        "subject_references",
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(128), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"],
            name=op.f("fk_subject_references_agency_id_agencies"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"],
            name=op.f("fk_subject_references_subject_id_subjects"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("agency_id", "reference", name=op.f("pk_subject_references")),
    )  # fmt: skip
    op.create_index(op.f("ix_subject_references_subject_id"), "subject_references", ["subject_id"])
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _postgresql_triggers() -> None:
    op.execute(
        """
        CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION audit_entries_prune_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF {PRUNE_ONLY} THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'the audit log is append-only: entries can only be pruned'
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
        )
        update = "audit_entries_prune_only" if table == "audit_entries" else "audit_refuse_change"
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {update}()"
        )


def _sqlite_triggers() -> None:
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN "
            "SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )
        condition = f" WHEN NOT ({PRUNE_ONLY})" if table == "audit_entries" else ""
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}{condition} BEGIN "
            "SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_refuse_change() CASCADE")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_prune_only() CASCADE")
    for table in (
        "subject_references", "subjects", "audit_state", "audit_checkpoints", "audit_nodes",
        "audit_leaves", "audit_pending", "audit_entries",
    ):  # fmt: skip
        op.drop_table(table)
