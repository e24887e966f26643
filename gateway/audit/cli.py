"""``gateway audit``: verify, export, checkpoint, key, prune."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from gateway.audit import query
from gateway.audit.events import OPERATOR
from gateway.audit.keys import load_verifier
from gateway.audit.notes import NoteError, Verifier
from gateway.audit.reports import export_lines, record_export
from gateway.audit.retention import prune
from gateway.audit.verify import Report, verify_export, verify_stored
from gateway.cli.context import load_settings, migrated_database
from gateway.db.engine import Database, connect
from gateway.runtime import open_audit_log

_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


@click.group("audit")
def audit_group() -> None:
    """Verify, export and sign the audit log."""


@audit_group.command("verify")
@click.option("--database-url", help="Verify this database (default: GATEWAY_DATABASE_URL).")
@click.option("--export", "export_file", type=_FILE, help="Verify a JSONL export instead.")
@click.option(
    "--public-key", "public_key", type=_FILE, help="The log's vkey (default: key folder)."
)
@click.option("--checkpoint", "kept", type=_FILE, help="A checkpoint you kept from earlier.")
@click.option(
    "--wait",
    default=15.0,
    show_default=True,
    type=click.FloatRange(0, 600),
    help="Seconds to wait for entries still waiting for their place in a database's log "
    "(a running gateway places them every few seconds), so that all are checked.",
)
def verify_command(
    database_url: str | None,
    export_file: Path | None,
    public_key: Path | None,
    kept: Path | None,
    wait: float,
) -> None:
    """Recompute the tree and check every checkpoint. Exit 0 when intact, 1 naming the first
    bad entry."""
    if database_url and export_file:
        raise click.UsageError("give --database-url or --export, not both")
    settings = load_settings()
    verifier = _verifier(public_key, settings.key_dir)
    kept_note = kept.read_text() if kept else None
    if export_file is not None:
        try:
            report = verify_export(lambda: _lines(export_file), verifier, kept=kept_note)
        except ValueError as bad:
            raise click.ClickException(str(bad)) from None
    else:
        database = connect(database_url or settings.database_url)
        try:
            _until_placed(database, wait)
            with database.transaction(read_only=True) as session:
                report = verify_stored(session, verifier, kept=kept_note)
        finally:
            database.dispose()
    _print(report)
    sys.exit(0 if report.intact else 1)


def _until_placed(database: Database, patience: float) -> None:
    """Wait (at most ``patience`` seconds) until no entry waits for its place in the log: right
    after a burst of requests, the newest entries are placed at the server's next round.
    Verifying never places them itself: it only reads."""
    deadline, told = time.monotonic() + patience, False
    while True:
        with database.transaction(read_only=True) as session:
            waiting = query.waiting_count(session)
        if not waiting or time.monotonic() >= deadline:
            return
        if not told:
            click.echo(f"waiting for {waiting} entries to be placed in the log ...", err=True)
            told = True
        time.sleep(0.5)


def _lines(path: Path) -> Iterator[str]:
    with path.open() as lines:
        yield from lines


def _verifier(public_key: Path | None, key_dir: Path) -> Verifier:
    if public_key is not None:
        try:
            return Verifier.from_vkey(public_key.read_text())
        except NoteError as bad:
            raise click.ClickException(f"--public-key: {bad}") from None
    verifier = load_verifier(key_dir)
    if verifier is None:
        raise click.ClickException(f"no log key in {key_dir}; pass --public-key FILE")
    return verifier


def _print(report: Report) -> None:
    if report.intact:
        click.echo(
            f"intact: {report.size} entries, {report.checkpoints_checked} checkpoints verified"
        )
    else:
        click.echo(f"NOT INTACT ({report.size} entries read):", err=True)
        for problem in report.problems:
            click.echo(f"  {problem}", err=True)
    for note in report.notes:
        click.echo(f"  note: {note}")


@audit_group.command("export")
@click.option("--format", "export_format", type=click.Choice(["jsonl", "csv"]), default="jsonl")
@click.option("--since", type=click.DateTime(), help="From this time (UTC).")
@click.option("--until", type=click.DateTime(), help="Before this time (UTC).")
def export_command(export_format: str, since: datetime | None, until: datetime | None) -> None:
    """Write the log to standard output (JSONL ends with the latest signed checkpoint)."""
    settings = load_settings()
    database = migrated_database(settings)
    audit = open_audit_log(settings)
    try:
        with database.transaction() as session:
            record_export(session, audit, OPERATOR, export_format, None)
        criteria = query.EntryFilter(since=_utc(since), until=_utc(until))
        for line in export_lines(database, export_format, criteria):
            click.echo(line, nl=False)
    finally:
        database.dispose()


@audit_group.command("checkpoint")
def checkpoint_command() -> None:
    """Place new entries and sign a checkpoint now; print it."""
    settings = load_settings()
    database = migrated_database(settings)
    try:
        click.echo(open_audit_log(settings).publish(database).note, nl=False)
    finally:
        database.dispose()


@audit_group.command("key")
def key_command() -> None:
    """Print the log's verifier key (signed-note vkey), for DPOs to keep."""
    click.echo(open_audit_log(load_settings()).verifier.vkey())


@audit_group.command("prune")
@click.option("--older-than-days", type=click.IntRange(min=1), help="Default: retention setting.")
def prune_command(older_than_days: int | None) -> None:
    """Empty the bodies of old entries (their leaf hashes stay; the log still verifies),
    under a signed record of pruning the log holds first."""
    settings = load_settings()
    days = older_than_days or settings.audit_retention_days
    if days is None:
        raise click.UsageError("give --older-than-days or set GATEWAY_AUDIT_RETENTION_DAYS")
    database = migrated_database(settings)
    try:
        count = prune(open_audit_log(settings), database, datetime.now(UTC) - timedelta(days=days))
    finally:
        database.dispose()
    click.echo(f"pruned {count} entries older than {days} days")


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
