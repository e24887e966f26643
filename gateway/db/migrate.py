"""Bring the database schema up to date with Alembic; used by `gateway db upgrade` and `serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from gateway.db.engine import make_engine
from gateway.db.faults import describe, shown, unavailable
from gateway.errors import DatabaseUnavailable

MIGRATIONS = Path(__file__).with_name("migrations")


class MigrationRefused(Exception):
    """A migration found it cannot run here, before changing anything; the message says why
    and what to do."""


def alembic_config(database_url: str, sealing: Any = None) -> Config:
    """``sealing``: the key folder's ``MessageKeys``, for migrations that seal what was
    stored in clear (they refuse to run without it when there is something to seal)."""
    config = Config()
    config.attributes["sealing"] = sealing
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config is ConfigParser-based: a literal % must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head", *, sealing: Any = None) -> None:
    """Raises ``DatabaseUnavailable`` when the database is out of reach or takes no writes."""
    try:
        command.upgrade(alembic_config(database_url, sealing), revision)
    except (DBAPIError, OSError) as error:
        if not unavailable(error):
            raise
        raise DatabaseUnavailable(
            database=shown(make_url(database_url)), cause=describe(error)
        ) from error


def downgrade(database_url: str, revision: str, *, sealing: Any = None) -> None:
    command.downgrade(alembic_config(database_url, sealing), revision)


def is_current(database_url: str) -> bool:
    """True when the database is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision() == head
    finally:
        engine.dispose()
