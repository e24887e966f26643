"""Consent registry: consents, their versions and permissions, the agencies party to them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.db.base import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subject_references") as batch:
        batch.create_unique_constraint(
            op.f("uq_subject_references_agency_id"), ["agency_id", "subject_id"]
        )
    op.create_table(
        "consents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("portal_code_hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"],
            name=op.f("fk_consents_subject_id_subjects"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.UniqueConstraint("portal_code_hash", name=op.f("uq_consents_portal_code_hash")),
    )  # fmt: skip
    op.create_index(op.f("ix_consents_subject_id"), "consents", ["subject_id"])
    op.create_table(
        "consent_versions",
        sa.Column("consent_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=False),
        sa.Column("grants", sa.JSON(), nullable=False),
        sa.Column("given_by", sa.JSON(), nullable=False),
        sa.Column("notice", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("caseworker", sa.String(64)),
        sa.Column("ended_at", UTCDateTime()),
        sa.Column("ended_by", sa.String(64)),
        sa.Column("withdrawal_channel", sa.String(16)),
        sa.Column("expiry_recorded_at", UTCDateTime()),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"],
            name=op.f("fk_consent_versions_consent_id_consents"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("consent_id", "version", name=op.f("pk_consent_versions")),
    )  # fmt: skip
    op.create_index(op.f("ix_consent_versions_valid_until"), "consent_versions", ["valid_until"])
    op.create_table(
        "consent_permissions",
        sa.Column("consent_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("category", sa.String(48), nullable=False),
        sa.Column("purpose", sa.String(48), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id", "version"], ["consent_versions.consent_id", "consent_versions.version"],
            name=op.f("fk_consent_permissions_consent_id_consent_versions"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "consent_id", "version", "provider", "recipient", "category", "purpose",
            name=op.f("pk_consent_permissions"),
        ),
    )  # fmt: skip
    op.create_index(
        "ix_consent_permissions_lookup",
        "consent_permissions",
        ["subject_id", "provider", "recipient"],
    )
    op.create_table(
        "consent_parties",
        sa.Column("consent_id", sa.String(36), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"],
            name=op.f("fk_consent_parties_consent_id_consents"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("consent_id", "agency_id", name=op.f("pk_consent_parties")),
    )  # fmt: skip
    op.create_index(op.f("ix_consent_parties_agency_id"), "consent_parties", ["agency_id"])


def downgrade() -> None:
    for table in ("consent_parties", "consent_permissions", "consent_versions", "consents"):
        op.drop_table(table)
    with op.batch_alter_table("subject_references") as batch:
        batch.drop_constraint(op.f("uq_subject_references_agency_id"), type_="unique")
