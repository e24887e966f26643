"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from gateway.db.engine import make_engine
from gateway.db.metadata import metadata
from gateway.db.migrate import downgrade, is_current, upgrade


def test_migrations_match_the_models(database_url: str):
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_upgrade_is_idempotent_and_leaves_the_database_current(database_url: str):
    upgrade(database_url)
    upgrade(database_url)
    assert is_current(database_url)


def test_a_fresh_sqlite_file_is_created_and_migrated(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert not is_current(url)
    upgrade(url)
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    finally:
        engine.dispose()
    assert {"clients", "agencies", "used_assertions", "alembic_version"} <= tables
    assert journal == "wal"


def test_the_subject_controls_table_comes_with_0015_and_goes_with_its_downgrade(
    database_url: str,
):
    def tables() -> set[str]:
        engine = make_engine(database_url)
        try:
            return set(inspect(engine).get_table_names())
        finally:
            engine.dispose()

    upgrade(database_url)
    assert "subject_controls" in tables()
    downgrade(database_url, "0014")
    assert "subject_controls" not in tables()
    upgrade(database_url)
    assert "subject_controls" in tables()
    assert is_current(database_url)
