"""Messages between agencies, sealed at rest.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.db.base import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("category", sa.String(48), nullable=False),
        sa.Column("purpose", sa.String(48), nullable=False),
        sa.Column("legal_basis", sa.String(200), nullable=False),
        sa.Column("policy_flow", sa.String(200), nullable=False),
        sa.Column("consent_id", sa.String(36)),
        sa.Column("consent_version", sa.Integer()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(48)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("first_fetched_at", UTCDateTime()),
        sa.Column("closed_at", UTCDateTime()),
        sa.Column("key_id", sa.String(64)),
        sa.Column("wrapped_key", sa.LargeBinary()),
        sa.Column("nonce", sa.LargeBinary()),
        sa.Column("ciphertext", sa.LargeBinary()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index("ix_messages_inbox", "messages", ["recipient", "state", "created_at", "id"])
    op.create_index("ix_messages_expiry", "messages", ["state", "expires_at"])
    op.create_index(op.f("ix_messages_subject_id"), "messages", ["subject_id"])
    op.create_index(op.f("ix_messages_consent_id"), "messages", ["consent_id"])


def downgrade() -> None:
    op.drop_table("messages")
