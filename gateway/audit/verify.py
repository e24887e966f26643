"""Independent verification of the audit log: recompute the tree, check every checkpoint.

Given the log's public key (and, better, a checkpoint the DPO kept from earlier), this detects a
changed, deleted, inserted or reordered entry, an entry emptied without a record of pruning
that covers it, and a log cut short or rolled back. It reads the database, or an export, and
names the first problem it finds.

It streams: whatever the log's size, it holds the tree's right edge and a few counts, never
anything per entry. The records of pruning are read first (a query, or a first pass over the
export), so that each emptied entry is judged as the walk reaches it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.orm import Session

from gateway.audit import query
from gateway.audit.merkle import Frontier, leaf_hash
from gateway.audit.notes import Checkpoint, NoteError, Verifier, verify_checkpoint
from gateway.audit.pruning import RECORD, Forged, Licence, read_licence
from gateway.audit.query import LeafRow
from gateway.audit.repository import checkpoints
from gateway.audit.service import SEARCHABLE, encode, searchable_values

MAX_PROBLEMS = 20
_RUN = 4096  # leaf hashes added to the frontier at a time
_sha256 = hashlib.sha256
KEPT = "the checkpoint you kept"


@dataclass
class Report:
    size: int = 0
    began: int = 0  # the position the walk began at (0 unless incremental)
    checkpoints_checked: int = 0
    pruned: int = 0  # emptied, and covered by a record of pruning
    omitted: int = 0  # left out of a filtered export
    emptied_unlicensed: int = 0  # emptied, and covered by nothing: tampering
    licence: Licence | None = None  # the record of pruning that reaches furthest
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


@dataclass(frozen=True)
class _Target:
    checkpoint: Checkpoint
    label: str


def verify(
    leaves: Iterable[LeafRow],
    notes: Iterable[str],
    verifier: Verifier,
    *,
    kept: str | None = None,
    unplaced: Iterable[int] = (),
    waiting: int = 0,
    licences: Iterable[LeafRow] = (),
    start: Frontier | None = None,
) -> Report:
    """Check ``leaves`` (in tree order) against the signed checkpoints ``notes`` and ``kept``.

    ``licences`` are the leaves that say they are records of pruning: an emptied entry is
    intact only below the position the furthest genuine one names. ``waiting`` counts entries
    recorded but not yet given their place in the tree: not checked yet, and said so, so that
    a young log does not look empty.

    ``start``, the right edge of the tree at some size, makes the check incremental: the
    leaves begin at its size, checkpoints below it are passed over, and ``kept`` (of exactly
    that size) is checked against its root. Only records of pruning at or after ``start``
    can license emptied entries there: an earlier one reaches below its own position."""
    report = Report()
    frontier = start or Frontier()
    report.began = frontier.size
    targets = _checkpoints(notes, verifier, kept, report)
    forged = _licences(licences, verifier, report)
    by_size: dict[int, list[_Target]] = {}
    for target in targets:
        if target.checkpoint.size >= frontier.size:
            by_size.setdefault(target.checkpoint.size, []).append(target)
        elif target.label == KEPT:
            report.problem(
                f"the checkpoint you kept covers {target.checkpoint.size} entries, but the "
                f"check starts at {frontier.size}"
            )
    _compare(frontier, by_size.pop(frontier.size, []), report, last_good=frontier.size)
    rows = iter(leaves)
    try:
        _walk(rows, frontier, by_size, report, last_good=frontier.size)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    report.size = frontier.size
    if report.emptied_unlicensed > 1:
        report.problem(
            f"{report.emptied_unlicensed} entries in all lost their content without a recorded "
            "pruning that covers them"
        )
    for found in forged:
        report.problem(
            f"position {found.position} is a record of pruning that {found.reason}: it "
            "licenses nothing (forged)"
        )

    for size, missing in sorted(by_size.items()):
        for target in missing:
            report.problem(
                f"the log was cut short or rolled back: {target.label} covers {size} entries, "
                f"the log holds {frontier.size}"
            )
    for entry_id in unplaced:
        report.problem(
            f"entry id {entry_id} is not part of the log (inserted from outside, or set aside "
            "by the sequencer as unreadable)"
        )
    if targets:
        newest = max(target.checkpoint.size for target in targets)
        if frontier.size > newest:
            report.notes.append(
                f"{frontier.size - newest} entries after the newest checkpoint are not yet signed"
            )
    if waiting:
        report.notes.append(
            f"{waiting} newer entries wait for their place in the log and are not checked yet;"
            " the server places them every few seconds (`gateway audit checkpoint` does it now)"
        )
    if report.pruned and report.licence is not None:
        licence = report.licence
        report.notes.append(
            f"{report.pruned} entries below position {licence.below} were pruned under the "
            f"record of pruning at position {licence.position} (recorded before "
            f"{licence.before}); their leaf hashes were checked"
        )
    if report.omitted:
        report.notes.append(
            f"{report.omitted} entries were left out of this export by its filter; their leaf "
            "hashes were checked"
        )
    return report


def verify_stored(session: Session, verifier: Verifier, *, kept: str | None = None) -> Report:
    """Verify the log as this database holds it: its leaves in tree order, every checkpoint
    it stored, its records of pruning, entries that are in neither the tree nor its queue, and
    how many wait. ``session`` must not have read anything yet."""
    one_snapshot(session)
    return verify(
        query.leaves_in_order(session),
        [checkpoint.note for checkpoint in checkpoints(session)],
        verifier,
        kept=kept,
        unplaced=query.unplaced_entries(session),
        waiting=query.waiting_count(session),
        licences=query.licence_rows(session),
    )


def one_snapshot(session: Session) -> None:
    """Make every read of ``session`` (which must not have read anything yet) see one snapshot.
    Each statement would see its own under PostgreSQL's READ COMMITTED: an entry pruned after
    the records of pruning were read would look emptied from outside. SQLite's read
    transaction is one snapshot already."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def verify_export(
    read: Callable[[], Iterable[str]], verifier: Verifier, *, kept: str | None = None
) -> Report:
    """Verify a JSONL export (``gateway audit export``). ``read`` gives its lines from the
    start each time it is called: the export is read twice (its checkpoints and records of
    pruning, then its entries), and never held in memory. ValueError names a line that is not
    an export line."""
    notes, licences = _scan_export(read())
    return verify(rows_from_export(read()), notes, verifier, kept=kept, licences=licences)


def genuinely_licensed_below(session: Session, verifier: Verifier) -> int:
    """The position below which entries may have lost their content under a genuine record
    of pruning in this database (0 if there is none): what a page showing one entry needs to
    tell retention from an erasure. Unlike ``repository.licensed_below`` (what retention and
    the database's trigger go by), a record counts here only if the log's key signed it."""
    report = Report()
    _licences(query.licence_rows(session), verifier, report)
    return report.licence.below if report.licence is not None else 0


def _licences(rows: Iterable[LeafRow], verifier: Verifier, report: Report) -> list[Forged]:
    """Set ``report.licence`` to the genuine record of pruning that reaches furthest; return
    the forged ones."""
    forged = []
    for row in rows:
        if row.body is None or leaf_hash(row.body.encode()) != row.leaf_hash:
            continue  # not what the log placed there: the walk names it
        try:
            body = json.loads(row.body)
        except ValueError:
            continue  # the walk names it
        found = read_licence(body, row.seq, verifier) if isinstance(body, dict) else None
        if isinstance(found, Forged):
            forged.append(found)
        elif found is not None and (report.licence is None or found.below > report.licence.below):
            report.licence = found
    return forged


def _walk(
    rows: Iterator[LeafRow],
    frontier: Frontier,
    by_size: dict[int, list[_Target]],
    report: Report,
    last_good: int,
) -> None:
    """Recompute the tree over ``rows``. Leaf hashes are gathered and added to the frontier
    in runs (``Frontier.extend``), up to the next checkpoint's size or a few thousand at a time."""
    run: list[bytes] = []
    try:
        for row in rows:
            position = frontier.size + len(run)
            if row.seq != position:
                report.problem(
                    f"first bad entry: position {position} is missing "
                    f"(the log jumps to position {row.seq}; deleted or reordered)"
                    if row.seq > position
                    else f"first bad entry: position {row.seq} appears again (inserted or "
                    "reordered)"
                )
                return
            run.append(_leaf(row, report))
            if position + 1 in by_size:
                frontier.extend(run)
                run.clear()
                matching = by_size.pop(frontier.size)
                if _compare(frontier, matching, report, last_good):
                    last_good = frontier.size
            elif len(run) == _RUN:
                frontier.extend(run)
                run.clear()
    finally:
        frontier.extend(run)


def _checkpoints(
    notes: Iterable[str], verifier: Verifier, kept: str | None, report: Report
) -> list[_Target]:
    targets = []
    for note in notes:
        try:
            checkpoint = verify_checkpoint(note, verifier)
        except NoteError as bad:
            report.problem(f"a stored checkpoint does not verify: {bad}")
            continue
        targets.append(_Target(checkpoint, f"the checkpoint signed for size {checkpoint.size}"))
        report.checkpoints_checked += 1
    if kept is not None:
        try:
            checkpoint = verify_checkpoint(kept, verifier)
        except NoteError as bad:
            report.problem(f"the kept checkpoint does not verify: {bad}")
        else:
            targets.append(_Target(checkpoint, KEPT))
            report.checkpoints_checked += 1
    return targets


def _leaf(row: LeafRow, report: Report) -> bytes:
    if not row.entry_exists:
        report.problem(f"first bad entry: position {row.seq} (entry id {row.entry_id}) was deleted")
        return row.leaf_hash
    if row.body is None:
        _emptied(row, report)
        return row.leaf_hash
    try:
        computed = _sha256(b"\x00" + row.body.encode()).digest()  # merkle.leaf_hash, inlined
    except UnicodeError:  # a lone surrogate, which only SQLite stores: never an entry
        computed = b""
    if computed != row.leaf_hash:
        report.problem(
            f"first bad entry: position {row.seq} was changed (it no longer hashes to its leaf)"
        )
        return computed or row.leaf_hash
    if row.columns is not None:
        try:
            expected = _searchable(row.body)
        except (ValueError, TypeError, KeyError, AttributeError):
            report.problem(f"first bad entry: position {row.seq} does not hold an audit entry")
            return computed
        if expected != row.columns:
            name = next(
                name
                for name, want, have in zip(SEARCHABLE, expected, row.columns, strict=True)
                if want != have
            )
            report.problem(
                f"first bad entry: position {row.seq} was changed (its '{name}' column "
                "differs from its recorded content)"
            )
    return computed


def _searchable(body: str) -> tuple[Any, ...]:
    """``searchable_values(json.loads(body))``, with the same values and the same errors, four
    times faster: orjson reads what the gateway writes (canonical JSON). What it refuses (NaN,
    lone surrogates, a byte-order mark) goes to json.loads, which says what it is; so does a
    body whose searchable values hold a number that is not an integer, as orjson reads an
    integer beyond 64 bits (which json.loads keeps whole) as a float."""
    try:
        values = searchable_values(orjson.loads(body))
    except orjson.JSONDecodeError:
        return searchable_values(json.loads(body))
    if float in map(type, values):
        return searchable_values(json.loads(body))
    return values


def _emptied(row: LeafRow, report: Report) -> None:
    """An entry without content: left out of an export, pruned under a record of pruning, or
    emptied from outside."""
    if row.omitted:
        report.omitted += 1
        return
    # The database still says which event a pruned row was (its other columns are gone).
    a_record = row.columns is not None and row.columns[0] == RECORD.value
    licence = report.licence
    if licence is not None and row.seq < licence.below and not a_record:
        report.pruned += 1
        return
    report.emptied_unlicensed += 1
    if report.emptied_unlicensed == 1:
        report.problem(
            f"first bad entry: position {row.seq} is a record of pruning and lost its content "
            "(records of pruning are never pruned)"
            if a_record
            else f"first bad entry: position {row.seq} lost its content, and no recorded "
            "pruning covers it (emptied from outside)"
        )


def _compare(frontier: Frontier, targets: list[_Target], report: Report, last_good: int) -> bool:
    if not targets:
        return True
    root = frontier.root()
    intact = True
    for target in targets:
        if target.checkpoint.root != root:
            intact = False
            report.problem(
                f"first bad entry: between position {last_good} and {frontier.size - 1}: the log "
                f"does not match {target.label} (an entry there was changed, inserted, removed "
                "or reordered)"
            )
    return intact


def rows_from_export(lines: Iterable[str]) -> Iterator[LeafRow]:
    """The leaf rows of a JSONL export, one line at a time."""
    for number, line in enumerate(lines, start=1):
        record = _export_line(number, line)
        if record is None or "checkpoint" in record:
            continue
        try:
            entry = record["entry"]
            yield LeafRow(
                seq=int(record["seq"]),
                entry_id=int(record.get("id", -1)),
                leaf_hash=bytes.fromhex(record["leaf_hash"]),
                entry_exists=True,
                body=encode(entry) if entry is not None else None,
                columns=None,
                omitted=entry is None and record.get("omitted") is True,
            )
        except (ValueError, KeyError, TypeError) as bad:
            raise ValueError(f"line {number} of the export is not an audit export line") from bad


def _scan_export(lines: Iterable[str]) -> tuple[list[str], list[LeafRow]]:
    """The checkpoint notes and the records of pruning of an export. Only lines that can hold
    one are parsed (a record of pruning is always exported whole, whatever the filter)."""
    notes: list[str] = []
    licences: list[LeafRow] = []
    for number, line in enumerate(lines, start=1):
        if "checkpoint" not in line and RECORD.value not in line:
            continue
        try:
            record = _export_line(number, line)
        except ValueError:
            continue  # the second pass names the line
        if record is None:
            continue
        if "checkpoint" in record:
            notes.append(str(record["checkpoint"]))
            continue
        entry = record.get("entry")
        if isinstance(entry, dict) and entry.get("event") == RECORD.value:
            licences.extend(rows_from_export([line]))
    return notes, licences


def _export_line(number: int, line: str) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except ValueError as bad:
        raise ValueError(f"line {number} of the export is not an audit export line") from bad
    if not isinstance(record, dict):
        raise ValueError(f"line {number} of the export is not an audit export line")
    return record
