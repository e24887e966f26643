"""Client registry (agencies, DPO and monitoring clients) and used client-assertion ids.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.db.base import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("secret_hash", sa.Text(), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("disabled_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.CheckConstraint(
            "(jwks IS NULL) <> (secret_hash IS NULL)", name=op.f("ck_clients_one_credential")
        ),
    )
    op.create_table(
        "agencies",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("municipality", sa.String(100), nullable=False),
        sa.Column("provider_url", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["id"], ["clients.id"], name=op.f("fk_agencies_id_clients"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
    )
    op.create_index(op.f("ix_agencies_kind"), "agencies", ["kind"])
    op.create_index(op.f("ix_agencies_municipality"), "agencies", ["municipality"])
    op.create_table(
        "used_assertions",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("jti", sa.String(255), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_used_assertions")),
    )
    op.create_index(op.f("ix_used_assertions_expires_at"), "used_assertions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("used_assertions")
    op.drop_table("agencies")
    op.drop_table("clients")
