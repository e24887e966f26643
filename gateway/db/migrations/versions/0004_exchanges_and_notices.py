"""Exchanges with the releases they made, and withdrawal notices.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.db.base import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchanges",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("requester", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(48), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchanges")),
    )
    op.create_index(op.f("ix_exchanges_requester"), "exchanges", ["requester"])
    op.create_index(op.f("ix_exchanges_subject_id"), "exchanges", ["subject_id"])
    op.create_table(
        "exchange_releases",
        sa.Column("exchange_id", sa.String(36), nullable=False),
        sa.Column("category", sa.String(48), nullable=False),
        sa.Column("consent_id", sa.String(36)),
        sa.Column("consent_version", sa.Integer()),
        sa.ForeignKeyConstraint(
            ["exchange_id"], ["exchanges.id"],
            name=op.f("fk_exchange_releases_exchange_id_exchanges"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("exchange_id", "category", name=op.f("pk_exchange_releases")),
    )  # fmt: skip
    op.create_index(op.f("ix_exchange_releases_consent_id"), "exchange_releases", ["consent_id"])
    op.create_table(
        "withdrawal_notices",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("consent_id", sa.String(36), nullable=False),
        sa.Column("consent_version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("exchanges", sa.JSON(), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime()),
        sa.Column("outcome", sa.String(16)),
        sa.Column("legal_reason", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawal_notices")),
    )
    op.create_index(op.f("ix_withdrawal_notices_recipient"), "withdrawal_notices", ["recipient"])
    op.create_index(op.f("ix_withdrawal_notices_consent_id"), "withdrawal_notices", ["consent_id"])


def downgrade() -> None:
    for table in ("withdrawal_notices", "exchange_releases", "exchanges"):
        op.drop_table(table)
