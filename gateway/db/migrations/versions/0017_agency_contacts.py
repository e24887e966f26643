"""How a person reaches an agency (issue 20): address, phone, e-mail, web page, opening hours,
interpreter service and the data-protection contact, shown in the portal.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency_contacts",
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("address", sa.Text()),
        sa.Column("phone", sa.String(40)),
        sa.Column("email", sa.String(320)),
        sa.Column("website", sa.Text()),
        sa.Column("hours", sa.Text()),
        sa.Column("interpreter", sa.Text()),
        sa.Column("privacy_contact", sa.Text()),
        sa.Column("privacy_email", sa.String(320)),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_agency_contacts_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_agency_contacts")),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("agency_contacts")
