"""Witnesses (issue 21): the cosignatures the gateway received for its checkpoints, and where
each witness stands, in the database so that every gateway process sees them.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.db.base import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_cosignatures",
        sa.Column("witness", sa.String(200), nullable=False),
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("witness", "size", name=op.f("pk_audit_cosignatures")),
    )
    op.create_index(op.f("ix_audit_cosignatures_size"), "audit_cosignatures", ["size"])
    op.create_table(
        "audit_witnesses",
        sa.Column("witness", sa.String(200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("cosigned_at", UTCDateTime()),
        sa.Column("attempted_at", UTCDateTime()),
        sa.Column("problem", sa.String(32)),
        sa.Column("detail", sa.Text()),
        sa.PrimaryKeyConstraint("witness", name=op.f("pk_audit_witnesses")),
    )


def downgrade() -> None:
    op.drop_table("audit_witnesses")
    op.drop_index(op.f("ix_audit_cosignatures_size"), table_name="audit_cosignatures")
    op.drop_table("audit_cosignatures")
