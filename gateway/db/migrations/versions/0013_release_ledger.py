"""One release ledger for queries and messages: every release to a recipient is a row.

The exchanges and their release rows move into it as queries; every message becomes a row of
its acceptance, and one of its first fetch if it was fetched (earlier fetches were not kept
apart). Withdrawal notices are made from this table alone from now on.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from gateway.db.base import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    releases = op.create_table(
        "releases",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("category", sa.String(48), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("message_id", sa.String(36)),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(48), nullable=False),
        sa.Column("policy_flow", sa.String(200)),
        sa.Column("consent_id", sa.String(36)),
        sa.Column("consent_version", sa.Integer()),
        sa.Column("released_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", "category", name=op.f("pk_releases")),
    )
    assert releases is not None
    op.create_index("ix_releases_consent", "releases", ["consent_id", "released_at"])
    op.create_index(op.f("ix_releases_subject_id"), "releases", ["subject_id"])
    op.execute(
        "INSERT INTO releases (id, category, kind, message_id, provider, recipient, subject_id, "
        "purpose, policy_flow, consent_id, consent_version, released_at) "
        "SELECT r.exchange_id, r.category, 'query', NULL, e.provider, e.requester, e.subject_id, "
        "e.purpose, NULL, r.consent_id, r.consent_version, e.released_at "
        "FROM exchange_releases r JOIN exchanges e ON e.id = r.exchange_id"
    )
    connection = op.get_bind()
    rows = []
    read = sa.text(
        "SELECT id, sender, recipient, subject_id, category, purpose, policy_flow, consent_id, "
        "consent_version, created_at, first_fetched_at FROM messages ORDER BY created_at, id"
    ).columns(created_at=UTCDateTime(), first_fetched_at=UTCDateTime())
    for message in connection.execute(read):
        moments = [("message_accepted", message.created_at)]
        if message.first_fetched_at is not None:
            moments.append(("message_fetched", message.first_fetched_at))
        rows += [
            {
                "id": str(uuid.uuid4()),
                "category": message.category,
                "kind": kind,
                "message_id": message.id,
                "provider": message.sender,
                "recipient": message.recipient,
                "subject_id": message.subject_id,
                "purpose": message.purpose,
                "policy_flow": message.policy_flow,
                "consent_id": message.consent_id,
                "consent_version": message.consent_version,
                "released_at": at,
            }
            for kind, at in moments
        ]
    if rows:
        op.bulk_insert(releases, rows)
    op.drop_table("exchange_releases")
    op.drop_table("exchanges")


def downgrade() -> None:
    op.create_table(
        "exchanges",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("requester", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(48), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchanges")),
    )
    op.create_index(op.f("ix_exchanges_requester"), "exchanges", ["requester"])
    op.create_index(op.f("ix_exchanges_subject_id"), "exchanges", ["subject_id"])
    op.create_table(
        "exchange_releases",
        sa.Column("exchange_id", sa.String(36), nullable=False),
        sa.Column("category", sa.String(48), nullable=False),
        sa.Column("consent_id", sa.String(36)),
        sa.Column("consent_version", sa.Integer()),
        sa.ForeignKeyConstraint(
            ["exchange_id"], ["exchanges.id"],
            name=op.f("fk_exchange_releases_exchange_id_exchanges"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("exchange_id", "category", name=op.f("pk_exchange_releases")),
    )  # fmt: skip
    op.create_index(op.f("ix_exchange_releases_consent_id"), "exchange_releases", ["consent_id"])
    connection = op.get_bind()
    queries: dict[str, dict] = {}
    for row in connection.execute(
        sa.text(
            "SELECT id, category, provider, recipient, subject_id, purpose, consent_id, "
            "consent_version, released_at FROM releases WHERE kind = 'query' ORDER BY id, category"
        ).columns(released_at=UTCDateTime())
    ):
        exchange = queries.setdefault(
            row.id,
            {
                "id": row.id,
                "requester": row.recipient,
                "provider": row.provider,
                "subject_id": row.subject_id,
                "purpose": row.purpose,
                "categories": [],
                "released_at": row.released_at,
                "releases": [],
            },
        )
        exchange["categories"].append(row.category)
        exchange["releases"].append(
            {
                "exchange_id": row.id,
                "category": row.category,
                "consent_id": row.consent_id,
                "consent_version": row.consent_version,
            }
        )
    exchanges_table = sa.table(
        "exchanges",
        *(sa.column(name) for name in ("id", "requester", "provider", "subject_id", "purpose")),
        sa.column("categories", sa.JSON()),
        sa.column("released_at", UTCDateTime()),
    )
    releases_table = sa.table(
        "exchange_releases",
        *(sa.column(name) for name in ("exchange_id", "category", "consent_id", "consent_version")),
    )
    if queries:
        op.bulk_insert(
            exchanges_table,
            [{k: v for k, v in e.items() if k != "releases"} for e in queries.values()],
        )
        op.bulk_insert(releases_table, [r for e in queries.values() for r in e["releases"]])
    op.drop_table("releases")
