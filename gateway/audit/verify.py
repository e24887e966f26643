"""Independent verification of the audit log: recompute the tree, check every checkpoint.

Given the log's public key (and, better, a checkpoint the DPO kept from earlier), this detects a
changed, deleted, inserted or reordered entry, and a log cut short or rolled back. It reads the
database, or an export, and names the first problem it finds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit import query
from gateway.audit.merkle import Frontier, leaf_hash
from gateway.audit.notes import Checkpoint, NoteError, Verifier, verify_checkpoint
from gateway.audit.query import LeafRow
from gateway.audit.repository import checkpoints
from gateway.audit.service import encode, searchable_columns

MAX_PROBLEMS = 20


@dataclass
class Report:
    size: int = 0
    checkpoints_checked: int = 0
    pruned: int = 0
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
) -> Report:
    """Check ``leaves`` (in tree order) against the signed checkpoints ``notes`` and ``kept``.

    ``waiting`` counts entries recorded but not yet given their place in the tree: not
    checked yet, and said so, so that a young log does not look empty."""
    report = Report()
    targets = _checkpoints(notes, verifier, kept, report)
    by_size: dict[int, list[_Target]] = {}
    for target in targets:
        by_size.setdefault(target.checkpoint.size, []).append(target)

    frontier = Frontier()
    _compare(frontier, by_size.pop(0, []), report, last_good=0)
    rows = iter(leaves)
    try:
        _walk(rows, frontier, by_size, report)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    report.size = frontier.size

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
    if report.pruned:
        report.notes.append(
            f"{report.pruned} entries were pruned by retention or left out of the export; "
            "their leaf hashes were checked"
        )
    return report


def verify_stored(session: Session, verifier: Verifier, *, kept: str | None = None) -> Report:
    """Verify the log as this database holds it: its leaves in tree order, every checkpoint
    it stored, entries that are in neither the tree nor its queue, and how many wait."""
    return verify(
        query.leaves_in_order(session),
        [checkpoint.note for checkpoint in checkpoints(session)],
        verifier,
        kept=kept,
        unplaced=query.unplaced_entries(session),
        waiting=query.waiting_count(session),
    )


def _walk(
    rows: Iterator[LeafRow],
    frontier: Frontier,
    by_size: dict[int, list[_Target]],
    report: Report,
) -> None:
    last_good = 0
    for row in rows:
        if row.seq != frontier.size:
            report.problem(
                f"first bad entry: position {frontier.size} is missing "
                f"(the log jumps to position {row.seq}; deleted or reordered)"
                if row.seq > frontier.size
                else f"first bad entry: position {row.seq} appears again (inserted or reordered)"
            )
            return
        frontier.append(_leaf(row, report))
        matching = by_size.pop(frontier.size, [])
        if _compare(frontier, matching, report, last_good) and matching:
            last_good = frontier.size


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
            targets.append(_Target(checkpoint, "the checkpoint you kept"))
            report.checkpoints_checked += 1
    return targets


def _leaf(row: LeafRow, report: Report) -> bytes:
    if not row.entry_exists:
        report.problem(f"first bad entry: position {row.seq} (entry id {row.entry_id}) was deleted")
        return row.leaf_hash
    if row.body is None:
        report.pruned += 1
        return row.leaf_hash
    computed = leaf_hash(row.body.encode())
    if computed != row.leaf_hash:
        report.problem(
            f"first bad entry: position {row.seq} was changed (it no longer hashes to its leaf)"
        )
        return computed
    if row.columns is not None:
        expected = searchable_columns(json.loads(row.body))
        if tuple(expected.values()) != row.columns:
            name = next(
                name
                for name, value in zip(expected, row.columns, strict=True)
                if expected[name] != value
            )
            report.problem(
                f"first bad entry: position {row.seq} was changed (its '{name}' column "
                "differs from its recorded content)"
            )
    return computed


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


def rows_from_export(lines: Iterable[str]) -> tuple[Iterator[LeafRow], list[str]]:
    """Leaf rows and checkpoint notes from a JSONL export (``gateway audit export``)."""
    rows: list[LeafRow] = []
    notes: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record: dict[str, Any] = json.loads(line)
            if "checkpoint" in record:
                notes.append(str(record["checkpoint"]))
                continue
            entry = record["entry"]
            rows.append(
                LeafRow(
                    seq=int(record["seq"]),
                    entry_id=int(record.get("id", -1)),
                    leaf_hash=bytes.fromhex(record["leaf_hash"]),
                    entry_exists=True,
                    body=encode(entry) if entry is not None else None,
                    columns=None,
                )
            )
        except (ValueError, KeyError, TypeError) as bad:
            raise ValueError(f"line {number} of the export is not an audit export line") from bad
    return iter(rows), notes
