"""Retention: empty the bodies of old entries, under a record of pruning the log holds first
(``gateway.audit.pruning``); their leaf hashes keep the tree verifiable."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import Enum

from gateway.audit import repository
from gateway.audit.events import OPERATOR, AuditEvent, EventType
from gateway.audit.merkle import leaf_hash
from gateway.audit.pruning import licence_details
from gateway.audit.repository import PlacedRow
from gateway.audit.service import AuditLog, decode, format_time, unreadable
from gateway.db.engine import Database

PRUNE_BATCH = 2000  # entries emptied per transaction: SQLite's write lock is held that long


class Verdict(Enum):
    PRUNABLE = "prunable"  # old enough, intact: may lose its content
    KEEP = "keep"  # stays as it is, but does not end the pruning (see _verdict)
    YOUNG = "young"  # recorded at or after the cut-off: the pruning ends before it


def prune(audit: AuditLog, database: Database, before: datetime) -> int:
    """Empty the bodies of the entries recorded before ``before``; returns how many.

    1. Place and sign every waiting entry, so old entries have signed leaf hashes.
    2. Find how far a licence can reach: from where the last one ended, up to the newest
       checkpoint, until the first entry recorded at or after the cut-off. So "every entry
       below position P was recorded before T" holds exactly, and a verifier, who can check
       positions only, is told nothing untrue.
    3. Record the licence and place it: a verification at any moment sees every emptied
       entry covered by a record of pruning.
    4. Empty the entries, a batch per short transaction.
    """
    cut_off = before.astimezone(UTC).replace(microsecond=0)  # compared alike on both databases
    audit.publish(database)
    with database.transaction(read_only=True) as session:
        latest = repository.latest_checkpoint(session)
        if latest is None:
            return 0
        start = repository.licensed_below(session)
        below, entries = _reach(start, repository.placed_from(session, start, latest.size), cut_off)
    if entries == 0 and below <= start:
        return 0
    with database.transaction() as session:
        details = licence_details(audit.signer, below, format_time(cut_off), entries)
        audit.record(session, AuditEvent(EventType.AUDIT_PRUNED, actor=OPERATOR, details=details))
    audit.publish(database)
    return _empty(database, start, below, cut_off)


def _reach(start: int, rows: Iterable[PlacedRow], cut_off: datetime) -> tuple[int, int]:
    """(the position the licence reaches below, how many entries it lets go)."""
    below, entries = start, 0
    for row in rows:
        verdict = _verdict(row, cut_off)
        if verdict is Verdict.YOUNG:
            break
        below = row.seq + 1
        entries += verdict is Verdict.PRUNABLE
    return below, entries


def _empty(database: Database, start: int, below: int, cut_off: datetime) -> int:
    emptied = 0
    for low in range(start, below, PRUNE_BATCH):
        with database.transaction() as session:
            rows = repository.placed_from(session, low, min(below, low + PRUNE_BATCH))
            ids = [row.entry_id for row in rows if _verdict(row, cut_off) is Verdict.PRUNABLE]
            if ids:
                emptied += repository.empty(session, ids)
    return emptied


def _verdict(row: PlacedRow, cut_off: datetime) -> Verdict:
    if row.event is None or row.event == EventType.AUDIT_PRUNED.value:
        return Verdict.KEEP  # a deleted row stays missing; records of pruning stay for good
    assert row.recorded_at is not None  # the entry row exists
    if row.body is None:
        # Emptied already: by an earlier pruning, or before licences existed. If it is too
        # young for that, it was emptied from outside: the pruning stops short of it.
        return Verdict.KEEP if row.recorded_at < cut_off else Verdict.YOUNG
    if unreadable(row.body) or leaf_hash(row.body.encode()) != row.leaf_hash:
        return Verdict.KEEP  # changed from outside: kept as the evidence verification names
    # Both the column and the entry's own time: the column alone can be changed unseen.
    old = row.recorded_at < cut_off and decode(row.body)["time"] < format_time(cut_off)
    return Verdict.PRUNABLE if old else Verdict.YOUNG
