"""A consent version records how old the person was when it was recorded (their age band), so
the gateway can hold the recording to who may give a consent (issue 19).

Versions recorded before keep no age band (NULL, "not stated"): nobody asked, and the gateway
will not guess. They stay valid as recorded; a partial withdrawal's new version keeps NULL too.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consent_versions") as table:
        table.add_column(sa.Column("subject_age_band", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("consent_versions") as table:
        table.drop_column("subject_age_band")
