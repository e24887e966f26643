"""DPO users remember the time step of their last one-time code, so none is used twice.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dpo_users") as table:
        table.add_column(sa.Column("totp_last_step", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("dpo_users") as table:
        table.drop_column("totp_last_step")
