"""Portal codes as issues of their own: who issued each code, when, with which consent.

A person has one live code at most (a new one ends those before it), so each person keeps only
the newest of the codes their consents carried; portal sessions, which named a consent, end.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from gateway.db.base import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "portal_codes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("consent_id", sa.String(36), nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("ended_at", UTCDateTime()),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"],
            name=op.f("fk_portal_codes_subject_id_subjects"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"],
            name=op.f("fk_portal_codes_consent_id_consents"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_portal_codes_code_hash")),
    )  # fmt: skip
    op.create_index(op.f("ix_portal_codes_subject_id"), "portal_codes", ["subject_id"])
    op.create_index(op.f("ix_portal_codes_consent_id"), "portal_codes", ["consent_id"])
    _move_codes()
    live = sa.text("ended_at IS NULL")
    op.create_index(
        "uq_portal_codes_live", "portal_codes", ["subject_id"], unique=True,
        sqlite_where=live, postgresql_where=live,
    )  # fmt: skip
    op.execute("DELETE FROM web_sessions WHERE realm = 'portal'")
    with op.batch_alter_table("consents") as table:
        table.drop_constraint("uq_consents_portal_code_hash", type_="unique")
        table.drop_column("portal_code_hash")


def _move_codes() -> None:
    """Each consent's code becomes an issue by its recorder; only the newest per person stays
    live."""
    consents = sa.table(
        "consents",
        *(sa.column(name) for name in ("id", "subject_id", "recorded_by")),
        sa.column("created_at", UTCDateTime()),  # read as a time on SQLite too
        sa.column("portal_code_hash"),
    )
    rows = op.get_bind().execute(
        sa.select(
            consents.c.id,
            consents.c.subject_id,
            consents.c.recorded_by,
            consents.c.created_at,
            consents.c.portal_code_hash,
        ).order_by(consents.c.subject_id, consents.c.created_at.desc(), consents.c.id.desc())
    )
    codes = sa.table(
        "portal_codes",
        *(sa.column(name) for name in ("id", "subject_id", "consent_id", "issued_by")),
        sa.column("issued_at", UTCDateTime()),
        sa.column("code_hash"),
        sa.column("ended_at", UTCDateTime()),
    )
    now, previous, batch = datetime.now(UTC), None, []
    for consent_id, subject_id, recorded_by, created_at, code_hash in rows:
        batch.append(
            {
                "id": str(uuid.uuid4()),
                "subject_id": subject_id,
                "consent_id": consent_id,
                "issued_by": recorded_by,
                "issued_at": created_at,
                "code_hash": code_hash,
                "ended_at": None if subject_id != previous else now,  # newest first
            }
        )
        previous = subject_id
        if len(batch) == BATCH:
            op.bulk_insert(codes, batch)
            batch = []
    if batch:
        op.bulk_insert(codes, batch)


def downgrade() -> None:
    with op.batch_alter_table("consents") as table:
        table.add_column(sa.Column("portal_code_hash", sa.String(64)))
    connection = op.get_bind()
    live: dict[str, str] = dict(
        connection.execute(
            sa.text("SELECT consent_id, code_hash FROM portal_codes WHERE ended_at IS NULL")
        ).all()
    )
    for (consent_id,) in connection.execute(sa.text("SELECT id FROM consents")).all():
        connection.execute(
            sa.text("UPDATE consents SET portal_code_hash = :hash WHERE id = :id"),
            {"hash": live.get(consent_id, secrets.token_hex(32)), "id": consent_id},
        )
    with op.batch_alter_table("consents") as table:
        table.alter_column("portal_code_hash", existing_type=sa.String(64), nullable=False)
        table.create_unique_constraint("uq_consents_portal_code_hash", ["portal_code_hash"])
    op.drop_table("portal_codes")
