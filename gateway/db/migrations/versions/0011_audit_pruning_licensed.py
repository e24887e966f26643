"""Audit pruning only under a cut-off the log records.

Migration 0002 let anyone with database access empty any entry at any age. From here the
database itself refuses to empty an entry unless the latest placed record of pruning (an
``audit.pruned`` entry naming ``below_position`` and ``recorded_before``, see
``gateway.audit.pruning``) covers it: the entry is placed in the tree, below that position,
recorded before that time, and is not itself a record of pruning. Verification stays the real
check (an operator can drop triggers); this makes an unlicensed prune fail at once.

PostgreSQL checks once per statement (a transition table of the rows as they were), so a
batch of prunes reads the record of pruning once; SQLite, which has no statement triggers,
checks each row.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

REFUSED = "the audit log is append-only: only entries a recorded pruning covers can be pruned"

# As in 0002: pruning empties the body and its searchable copies; nothing else may change.
DESCRIPTIVE = (
    "actor", "requester", "provider", "decision", "reason", "purpose", "categories", "subject",
    "body",
)  # fmt: skip
PRUNE_ONLY = " AND ".join(
    ["NEW.id = OLD.id", "NEW.recorded_at = OLD.recorded_at", "NEW.event = OLD.event"]
    + [f"NEW.{column} IS NULL" for column in DESCRIPTIVE]
)

# SQLite: a field of the latest placed record of pruning that names a position.
_LATEST = (
    "(SELECT json_extract(e.body, '$.details.{field}') FROM audit_entries e"
    " WHERE e.event = 'audit.pruned' AND e.body IS NOT NULL"
    " AND json_extract(e.body, '$.details.below_position') IS NOT NULL"
    " AND EXISTS (SELECT 1 FROM audit_leaves p WHERE p.entry_id = e.id)"
    " ORDER BY e.id DESC LIMIT 1)"
)
# (S608: these statements are made of constants only, nothing from outside.)
SQLITE_LICENSED = (
    "OLD.body IS NULL OR (OLD.event <> 'audit.pruned'"  # noqa: S608
    " AND (SELECT l.seq FROM audit_leaves l WHERE l.entry_id = OLD.id)"
    f" < {_LATEST.format(field='below_position')}"
    " AND julianday(OLD.recorded_at)"
    f" < julianday({_LATEST.format(field='recorded_before')}))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql()
    else:
        # A NULL anywhere (an entry not placed, no record of pruning) must refuse, not let
        # the trigger skip: SQLite fires a trigger only when WHEN is true.
        _sqlite_update_trigger(f"NOT COALESCE(({PRUNE_ONLY}) AND ({SQLITE_LICENSED}), 0)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_prune_licensed ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_prune_licensed()")
    else:
        _sqlite_update_trigger(f"NOT ({PRUNE_ONLY})")


def _sqlite_update_trigger(refuse_when: str) -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
    op.execute(
        f"CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
        f"WHEN {refuse_when} BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )


def _postgresql() -> None:
    # The row trigger of 0002 (audit_entries_prune_only) still refuses any change but pruning.
    op.execute(
        f"""
        CREATE FUNCTION audit_entries_prune_licensed() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            licence jsonb;
        BEGIN
            SELECT e.body::jsonb -> 'details' INTO licence
            FROM audit_entries e
            WHERE e.event = 'audit.pruned' AND e.body IS NOT NULL
              AND e.body::jsonb -> 'details' ? 'below_position'
              AND EXISTS (SELECT 1 FROM audit_leaves p WHERE p.entry_id = e.id)
            ORDER BY e.id DESC
            LIMIT 1;
            IF EXISTS (
                SELECT 1
                FROM pruned_rows o LEFT JOIN audit_leaves l ON l.entry_id = o.id
                WHERE o.body IS NOT NULL AND NOT COALESCE(
                    o.event <> 'audit.pruned'
                    AND l.seq < (licence ->> 'below_position')::bigint
                    AND o.recorded_at < (licence ->> 'recorded_before')::timestamptz,
                    false
                )
            ) THEN
                RAISE EXCEPTION '{REFUSED}' USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NULL;
        END $$
        """  # noqa: S608
    )
    op.execute(
        "CREATE TRIGGER audit_entries_prune_licensed AFTER UPDATE ON audit_entries "
        "REFERENCING OLD TABLE AS pruned_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_prune_licensed()"
    )
