"""What an attacker with write access to the database (but not to the key folder) can do.

The append-only triggers stand in their way; these helpers step around them as such an attacker
would (PostgreSQL: a replica session fires no triggers; SQLite: drop the triggers).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from gateway.db.engine import make_engine

TRIGGERS = [
    f"{table}_{action}"
    for table in ("audit_entries", "audit_leaves", "audit_nodes", "audit_checkpoints")
    for action in ("no_update", "no_delete")
]


# What an eraser runs: an entry's content and its searchable copies gone, its row kept.
EMPTY = (
    "UPDATE audit_entries SET actor = NULL, requester = NULL, provider = NULL, decision = NULL,"
    " reason = NULL, purpose = NULL, categories = NULL, subject = NULL, body = NULL"
    " WHERE id = :id"
)


def tamper(database_url: str, *statements: str, **params: Any) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                for trigger in TRIGGERS:
                    connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
            for statement in statements:
                connection.execute(text(statement), params)
    finally:
        engine.dispose()


def query(database_url: str, statement: str, **params: Any) -> list[Any]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(statement), params))
    finally:
        engine.dispose()
