"""Incremental verification over a database: from a checkpoint the verifier kept, check only
what came after it.

A kept checkpoint of size m (signed by the log's key, and verified by this verifier before)
vouches for the tree of the first m leaves. The tree's right edge at m, its perfect subtrees,
is stored (``audit_nodes``); read back, it must hash to the kept root, and from there the walk
recomputes the tree over the leaves from m on only, checking them as a full verification does,
with every stored checkpoint of m entries or more and the records of pruning placed from m on.
Last, the consistency proof from m to the newest checkpoint, built from the stored subtrees as
the log serves it to others, must verify.

Nothing here costs more for an older log: the edge and the proof are O(log n) stored hashes,
the leaves, checkpoints and records of pruning are read from m on (ranges on their keys), and
entries outside the log are looked for from the lowest id placed from m on (see
``query.first_entry_id_from``). What that leaves out, a change before m that keeps every stored
subtree the edge and the proof read, or an entry slipped in with an id below the new ones, is
for a full verification (``verify_stored``) to find.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.audit import query, repository
from gateway.audit.merkle import NodeId, frontier_of, verify_consistency
from gateway.audit.notes import NoteError, Verifier, verify_checkpoint
from gateway.audit.service import AuditLog
from gateway.audit.verify import Report, one_snapshot, verify


@dataclass(frozen=True)
class Verified:
    report: Report
    # The newest stored checkpoint, verified: what to keep for next time (None unless intact).
    checkpoint: str | None


def verify_stored_from(session: Session, verifier: Verifier, kept: str) -> Verified:
    """Verify the entries this database placed after the checkpoint ``kept``, and that the log
    still grows the tree ``kept`` signed. ``session`` must not have read anything yet."""
    one_snapshot(session)
    report = Report()
    try:
        start = verify_checkpoint(kept, verifier)
    except NoteError as bad:
        report.problem(f"the kept checkpoint does not verify: {bad}")
        return Verified(report, None)
    size = repository.placed_size(session)
    if start.size > size:
        report.size = size
        report.problem(
            f"the log was cut short or rolled back: the checkpoint you kept covers {start.size} "
            f"entries, the log holds {size}"
        )
        return Verified(report, None)

    def lookup(wanted: list[NodeId]) -> dict[NodeId, bytes]:
        return repository.nodes(session, wanted)

    try:
        frontier = frontier_of(start.size, lookup)
    except KeyError as missing:
        report.problem(_missing(missing, start.size))
        return Verified(report, None)
    if frontier.root() != start.root:
        report.size = start.size
        report.problem(
            f"the log's first {start.size} entries do not make the tree of the checkpoint you "
            "kept: the log before that point was changed, or the checkpoint comes from another "
            "history of the log"
        )
        return Verified(report, None)
    notes = [checkpoint.note for checkpoint in repository.checkpoints(session, start.size)]
    report = verify(
        query.leaves_in_order(session, start=start.size),
        notes,
        verifier,
        kept=kept,
        unplaced=query.unplaced_entries(session, query.first_entry_id_from(session, start.size)),
        waiting=query.waiting_count(session),
        licences=query.licence_rows(session, start.size),
        start=frontier,
    )
    try:
        newest = verify_checkpoint(notes[-1], verifier) if notes else start
    except NoteError:
        return Verified(report, None)  # the walk said so
    if newest.size == start.size:
        return Verified(report, kept if report.intact else None)
    try:
        proof = AuditLog.consistency(session, start.size, newest.size)
    except KeyError as missing:
        report.problem(_missing(missing, newest.size))
        return Verified(report, None)
    if not verify_consistency(start.size, newest.size, start.root, newest.root, proof):
        report.problem(
            f"the consistency proof from {start.size} to {newest.size} entries, built from the "
            "stored subtrees, does not verify: a stored subtree was changed"
        )
    return Verified(report, notes[-1] if report.intact else None)


def _missing(error: KeyError, size: int) -> str:
    level, index = error.args[0]
    return (
        f"the stored subtree at level {level}, index {index} (part of the tree of {size} "
        "entries) is missing: deleted from the database"
    )
