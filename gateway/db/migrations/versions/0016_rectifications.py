"""Rectification notices (issue 19, Art. 16 GDPR): a person flags information an agency passed
on about them as wrong, and the agency it came from answers. The person's text is stored
sealed and deleted once answered.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.db.base import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rectifications",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("category", sa.String(48), nullable=False),
        sa.Column("release_id", sa.String(36), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=False),
        sa.Column("consent_id", sa.String(36)),
        sa.Column("flagged_at", UTCDateTime(), nullable=False),
        sa.Column("key_id", sa.String(64)),
        sa.Column("wrapped_key", sa.LargeBinary()),
        sa.Column("nonce", sa.LargeBinary()),
        sa.Column("ciphertext", sa.LargeBinary()),
        sa.Column("answered_at", UTCDateTime()),
        sa.Column("outcome", sa.String(16)),
        sa.Column("reason", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectifications")),
    )
    for column in ("subject_id", "provider", "consent_id"):
        op.create_index(op.f(f"ix_rectifications_{column}"), "rectifications", [column])
    open_ = sa.text("answered_at IS NULL")
    op.create_index(
        "uq_rectifications_open", "rectifications", ["subject_id", "provider", "category"],
        unique=True, sqlite_where=open_, postgresql_where=open_,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("rectifications")
