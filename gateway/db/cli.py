"""``gateway db``: the database schema."""

from __future__ import annotations

import click

from gateway.cli.context import load_settings, upgrade_database


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    upgrade_database(load_settings())
    click.echo("database is up to date")
