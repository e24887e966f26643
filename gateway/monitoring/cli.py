"""``gateway monitoring aggregate``: compute the indicators of the months that are over."""

from __future__ import annotations

import click

from gateway.cli.context import load_settings, migrated_database
from gateway.monitoring.aggregation import aggregate_due
from gateway.runtime import load_data_files, open_audit_log


@click.command("aggregate")
def aggregate_command() -> None:
    """Compute every month that is over and not computed yet (running gateways do this in the
    background); a computed month is never computed again."""
    settings = load_settings()
    database = migrated_database(settings)
    try:
        policies, _ = load_data_files(settings)
        audit = open_audit_log(settings)
        computed = aggregate_due(
            database, audit, policies, settings.monitoring_min_cell, limit=10**6
        )
    finally:
        database.dispose()
    if not computed:
        click.echo("no month to compute")
    for month in computed:
        click.echo(f"computed {month}")
