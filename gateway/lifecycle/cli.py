"""``gateway lifecycle run [--dry-run] [--batch N]``: erase what has outlived its period."""

from __future__ import annotations

import click

from gateway.audit.events import OPERATOR
from gateway.cli.context import load_settings, migrated_database
from gateway.lifecycle import repository, service
from gateway.lifecycle.periods import Periods
from gateway.lifecycle.service import Batches
from gateway.runtime import load_data_files, open_audit_log


@click.group("lifecycle")
def lifecycle_group() -> None:
    """Retention and erasure of personal data (running gateways do it in the background)."""


@lifecycle_group.command("run")
@click.option("--dry-run", is_flag=True, help="Count what is due, erase nothing.")
@click.option(
    "--batch",
    type=click.IntRange(1, 10000),
    default=None,
    help="Rows per transaction (default: GATEWAY_LIFECYCLE_BATCH).",
)
def run_command(dry_run: bool, batch: int | None) -> None:
    """Erase every kind of data whose period has run out (see the README's lifecycle table),
    a batch per transaction, each batch on record in the audit log; prints the counts."""
    settings = load_settings()
    database = migrated_database(settings)
    try:
        policies, _ = load_data_files(settings)
        periods = Periods.of(settings, policies)
        if dry_run:
            report = service.due(database, periods)
        else:
            batches = Batches(
                size=batch or settings.lifecycle_batch, pause=settings.lifecycle_pause
            )
            report = service.run(
                database, open_audit_log(settings), periods, batches=batches, actor=OPERATOR
            )
            if report.total:
                repository.truncate_wal(database)
    finally:
        database.dispose()
    verb = "due" if dry_run else "erased"
    for kind, count in report.erased.items():
        click.echo(f"{kind.value}: {count} {verb}")
