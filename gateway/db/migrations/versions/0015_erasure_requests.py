"""What a DPO sets on a person: a restriction of processing (Art. 18 GDPR: no release, nothing
erased) and a legal hold (nothing erased, releases go on), each with when, by whom and the
DPO's note (issue 19). A row exists only while one of them is set.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.db.base import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_controls",
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("restricted_at", UTCDateTime(), nullable=True),
        sa.Column("restricted_by", sa.String(64), nullable=True),
        sa.Column("restriction_note", sa.String(500), nullable=True),
        sa.Column("held_at", UTCDateTime(), nullable=True),
        sa.Column("held_by", sa.String(64), nullable=True),
        sa.Column("hold_note", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"],
            name=op.f("fk_subject_controls_subject_id_subjects"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_subject_controls")),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("subject_controls")
