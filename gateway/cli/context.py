"""What every CLI command starts from: the settings, and the database brought up to date."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from pydantic import ValidationError
from sqlalchemy.orm import Session

from gateway.db.engine import Database, connect
from gateway.db.migrate import MigrationRefused, upgrade
from gateway.runtime import open_message_keys
from gateway.settings import Settings


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as invalid:
        problems = "; ".join(
            f"GATEWAY_{'_'.join(str(p) for p in error['loc']).upper()}: {error['msg']}"
            for error in invalid.errors()
        )
        raise click.ClickException(f"invalid configuration: {problems}") from None


def upgrade_database(settings: Settings) -> None:
    """Migrate the configured database to the newest schema (idempotent), with the key
    folder's keys for migrations that seal; a migration's refusal is the command's error."""
    try:
        upgrade(settings.database_url, sealing=open_message_keys(settings))
    except MigrationRefused as refused:
        raise click.ClickException(str(refused)) from None


def migrated_database(settings: Settings) -> Database:
    """The configured database, migrated to the newest schema first (idempotent)."""
    upgrade_database(settings)
    return connect(settings.database_url)


@contextmanager
def transaction(settings: Settings) -> Iterator[Session]:
    database = migrated_database(settings)
    try:
        with database.transaction() as session:
            yield session
    finally:
        database.dispose()
