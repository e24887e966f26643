"""Alembic environment: runs migrations online against the configured database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from gateway.db.engine import make_engine
from gateway.db.metadata import metadata

config = context.config


def _foreign_keys_checked_at_the_end(connection: Connection) -> None:
    """SQLite changes a table by building a new one and dropping the old: with foreign keys
    enforced, dropping a table that other rows point to fails (or, deferred, leaves a count of
    violations the rename never clears). So they are off while migrations run (set before the
    transaction begins: inside one the pragma does nothing) and checked as a whole before
    commit."""
    connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.execute(text("PRAGMA foreign_key_check")).all()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise RuntimeError(f"a migration left rows whose foreign keys point nowhere: {tables}")


# A failed statement's error names no parameters: a migration may move secrets.
engine = make_engine(config.get_main_option("sqlalchemy.url") or "", hide_parameters=True)
try:
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _foreign_keys_checked_at_the_end(connection)
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _check_foreign_keys(connection)
finally:
    engine.dispose()
