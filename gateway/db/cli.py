"""``gateway db``: the database schema."""

from __future__ import annotations

import click

from gateway.cli.context import load_settings
from gateway.db.migrate import MigrationRefused, upgrade
from gateway.runtime import open_message_keys


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    settings = load_settings()
    try:
        upgrade(settings.database_url, sealing=open_message_keys(settings))
    except MigrationRefused as refused:
        raise click.ClickException(str(refused)) from None
    click.echo("database is up to date")
