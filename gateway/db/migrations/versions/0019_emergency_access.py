"""Emergency access (issue 22, § 8a SGB VIII): the windows emergency queries open and each use,
with its justification sealed; the DPO's review and deferred disclosure on the window.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.db.base import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "emergency_windows",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closes_at", UTCDateTime(), nullable=False),
        sa.Column("review_due_at", UTCDateTime(), nullable=False),
        sa.Column("reviewed_at", UTCDateTime()),
        sa.Column("reviewed_by", sa.String(64)),
        sa.Column("verdict", sa.String(16)),
        sa.Column("review_comment", sa.Text()),
        sa.Column("deferred_until", UTCDateTime()),
        sa.Column("deferred_by", sa.String(64)),
        sa.Column("deferral_reason", sa.Text()),
        sa.Column("deferral_end_recorded_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_windows")),
    )
    op.create_index(
        "ix_emergency_windows_open", "emergency_windows", ["subject_id", "recipient", "closes_at"]
    )
    for column in ("recipient", "opened_at"):
        op.create_index(op.f(f"ix_emergency_windows_{column}"), "emergency_windows", [column])
    op.create_table(
        "emergency_uses",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("window_id", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("categories", sa.String(400), nullable=False),
        sa.Column("purpose", sa.String(48), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=False),
        sa.Column("key_id", sa.String(64)),
        sa.Column("wrapped_key", sa.LargeBinary()),
        sa.Column("nonce", sa.LargeBinary()),
        sa.Column("ciphertext", sa.LargeBinary()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_uses")),
    )
    for column in ("window_id", "subject_id", "recipient", "used_at"):
        op.create_index(op.f(f"ix_emergency_uses_{column}"), "emergency_uses", [column])


def downgrade() -> None:
    op.drop_table("emergency_uses")
    op.drop_table("emergency_windows")
