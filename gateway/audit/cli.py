"""``gateway audit``: verify, export, checkpoint, key, prune."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from gateway.audit import query
from gateway.audit.cosignatures import WitnessKey, WitnessPolicy
from gateway.audit.cosigned import cosigned_checkpoint
from gateway.audit.events import OPERATOR
from gateway.audit.incremental import (
    Verified,
    check_witnesses,
    verify_stored_from,
    verify_tiled,
)
from gateway.audit.keys import load_verifier
from gateway.audit.notes import NoteError, Verifier
from gateway.audit.remote import RemoteLogError, TiledLog
from gateway.audit.reports import export_lines, record_export
from gateway.audit.retention import prune
from gateway.audit.verify import Report, verify_export, verify_stored
from gateway.cli.context import load_settings, migrated_database
from gateway.db.engine import Database, connect
from gateway.keys.folder import write_atomically
from gateway.runtime import open_audit_log

_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


@click.group("audit")
def audit_group() -> None:
    """Verify, export and sign the audit log."""


@audit_group.command("verify")
@click.option("--database-url", help="Verify this database (default: GATEWAY_DATABASE_URL).")
@click.option("--export", "export_file", type=_FILE, help="Verify a JSONL export instead.")
@click.option(
    "--url",
    help="Verify a running gateway's log over its tiles instead, e.g. "
    "https://gateway.example/v1/audit/log (C2SP tlog-tiles).",
)
@click.option(
    "--token-file",
    type=_FILE,
    help="With --url: a file holding an access token with audit:read (not needed where the "
    "operator made the log public).",
)
@click.option(
    "--public-key", "public_key", type=_FILE, help="The log's vkey (default: key folder)."
)
@click.option("--checkpoint", "kept", type=_FILE, help="A checkpoint you kept from earlier.")
@click.option(
    "--from",
    "kept_from",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Verify from the checkpoint in this file on: only the entries added since are read "
    "(with --url or a database), and the file then holds the newest verified checkpoint. A "
    "missing file starts from the beginning.",
)
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    metavar="VKEY",
    help="A witness's cosignature key (its vkey, or a file holding it); repeat for several.",
)
@click.option(
    "--quorum",
    type=click.IntRange(min=0),
    help="How many of the --witness keys must have cosigned the newest checkpoint "
    "(default: all of them).",
)
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
    url: str | None,
    token_file: Path | None,
    public_key: Path | None,
    kept: Path | None,
    kept_from: Path | None,
    witnesses: tuple[str, ...],
    quorum: int | None,
    wait: float,
) -> None:
    """Recompute the tree and check every checkpoint. Exit 0 when intact, 1 naming the first
    bad entry."""
    if sum(source is not None for source in (database_url, export_file, url)) > 1:
        raise click.UsageError("give one of --database-url, --export and --url")
    if kept and kept_from:
        raise click.UsageError("give --checkpoint or --from, not both")
    settings = load_settings()
    verifier = _verifier(public_key, settings.key_dir)
    # Without --witness: the witnesses this gateway is configured with, if any.
    policy = _policy(witnesses, quorum) if witnesses else settings.witness_policy
    kept_note = _kept(kept, kept_from)
    if url is not None:
        token = token_file.read_text().strip() if token_file else None
        log = TiledLog.open(url, token)
        try:
            outcome = verify_tiled(log, verifier, kept=kept_note, policy=policy)
        except RemoteLogError as failed:
            raise click.ClickException(f"cannot read the log: {failed}") from None
        finally:
            log.close()
    elif export_file is not None:
        try:
            report = verify_export(lambda: _lines(export_file), verifier, kept=kept_note)
        except ValueError as bad:
            raise click.ClickException(str(bad)) from None
        outcome = _with_witnesses(report, _newest_exported(export_file), policy)
    else:
        database = connect(database_url or settings.database_url)
        try:
            _until_placed(database, wait)
            with database.transaction(read_only=True) as session:
                if kept_from is not None and kept_note is not None:
                    report = verify_stored_from(session, verifier, kept_note).report
                else:
                    report = verify_stored(session, verifier, kept=kept_note)
                # What the witnesses vouch for, with their cosignatures: the one to keep.
                outcome = _with_witnesses(report, cosigned_checkpoint(session, policy), policy)
        finally:
            database.dispose()
    _print(outcome.report)
    if kept_from is not None and outcome.checkpoint is not None:
        write_atomically(kept_from, outcome.checkpoint)
        click.echo(f"  kept the newest verified checkpoint in {kept_from}")
    sys.exit(0 if outcome.report.intact else 1)


def _kept(kept: Path | None, kept_from: Path | None) -> str | None:
    if kept is not None:
        return kept.read_text()
    if kept_from is not None and kept_from.exists():
        return kept_from.read_text()
    return None


def _policy(witnesses: tuple[str, ...], quorum: int | None) -> WitnessPolicy:
    keys = []
    for given in witnesses:
        path = Path(given)
        text = path.read_text() if path.is_file() else given
        try:
            keys.append(WitnessKey.from_vkey(text))
        except NoteError as bad:
            raise click.BadParameter(str(bad), param_hint="--witness") from None
    try:
        return WitnessPolicy(tuple(keys), len(keys) if quorum is None else quorum)
    except ValueError as bad:
        raise click.BadParameter(str(bad), param_hint="--quorum") from None


def _with_witnesses(report: Report, newest: str | None, policy: WitnessPolicy) -> Verified:
    if newest is not None:
        check_witnesses(newest, policy, report)
    return Verified(report, newest if report.intact else None)


def _newest_exported(export_file: Path) -> str | None:
    """The export's newest checkpoint (its last line that holds one)."""
    newest = None
    for line in _lines(export_file):
        if '"checkpoint"' in line:
            record = json.loads(line)
            if isinstance(record, dict) and "checkpoint" in record:
                newest = str(record["checkpoint"])
    return newest


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
            + (
                f" (from position {report.began} on; the entries before it were verified "
                "earlier and the log still grows the tree they made)"
                if report.began
                else ""
            )
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
