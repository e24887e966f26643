"""Verification that starts where the last one ended: from a checkpoint the verifier kept, check
only what came after it, over a database or over a running gateway's tiles.

A kept checkpoint of size m (signed by the log's key, and verified by this verifier before)
vouches for the tree of the first m leaves. The tree's right edge at m, its perfect subtrees,
is read back (from ``audit_nodes``, or computed from the tiles); it must hash to the kept root,
and from there the walk recomputes the tree over the leaves from m on only, checking them as a
full verification does, with every checkpoint of m entries or more and the records of pruning
placed from m on. Last, the consistency proof from m to the newest checkpoint must verify, and
the newest checkpoint must carry the cosignatures the witness policy asks for. It is then the
one to keep for next time.

Nothing here costs more for an older log: the edge and the proof are O(log n) stored hashes,
the leaves, checkpoints and records of pruning are read from m on (ranges on their keys, or the
tiles from m on), and entries outside the log are looked for from the lowest id placed from m
on (see ``query.first_entry_id_from``). What that leaves out, a change before m that keeps every
stored subtree the edge and the proof read, or an entry slipped in with an id below the new
ones, is for a full verification (``verify_stored``) to find.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.audit import query, repository
from gateway.audit.cosignatures import WitnessPolicy
from gateway.audit.merkle import (
    Frontier,
    NodeId,
    consistency_proof,
    frontier_of,
    verify_consistency,
)
from gateway.audit.notes import Checkpoint, NoteError, Verifier, verify_checkpoint
from gateway.audit.remote import TiledLog
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


def verify_tiled(
    log: TiledLog,
    verifier: Verifier,
    *,
    kept: str | None = None,
    policy: WitnessPolicy | None = None,
) -> Verified:
    """Verify the log served at ``log`` from the checkpoint ``kept`` (from the start without
    one) up to its newest checkpoint."""
    report = Report()
    newest_note = log.checkpoint()
    newest = _opened(newest_note, verifier, "the log's newest checkpoint", report)
    old = _opened(kept, verifier, "the checkpoint you kept", report) if kept else None
    if newest is None or (kept and old is None):
        return Verified(report, None)
    start = old.size if old is not None else 0
    if start > newest.size:
        report.problem(
            f"the log was cut short or rolled back: the checkpoint you kept covers {start} "
            f"entries, the log's newest covers {newest.size}"
        )
        return Verified(report, None)
    lookup = log.lookup(newest.size)
    if old is not None and start > 0:
        proof = consistency_proof(start, newest.size, lookup)
        if not verify_consistency(start, newest.size, old.root, newest.root, proof):
            report.problem(
                f"the log's newest checkpoint ({newest.size} entries) does not extend the one "
                f"you kept ({start}): its history was rewritten"
            )
            return Verified(report, None)
    frontier = frontier_of(start, lookup) if start else Frontier()
    report = _walk(log, verifier, kept, newest_note, newest.size, frontier)
    check_witnesses(newest_note, policy, report)
    return Verified(report, newest_note if report.intact else None)


def _walk(
    log: TiledLog, verifier: Verifier, kept: str | None, note: str, size: int, start: Frontier
) -> Report:
    # Records of pruning only matter where an entry was emptied, which in a recent stretch of
    # the log is rare: read them (a second pass) only then.
    begin = start.size
    walk = Frontier(start.size, list(start.nodes))
    report = verify(log.leaves(begin, size, size), [note], verifier, kept=kept, start=walk)
    if report.emptied_unlicensed:
        licences = log.licences(begin, size, size)
        again = Frontier(start.size, list(start.nodes))
        report = verify(
            log.leaves(begin, size, size),
            [note],
            verifier,
            kept=kept,
            start=again,
            licences=licences,
        )
    return report


def check_witnesses(note: str, policy: WitnessPolicy | None, report: Report) -> None:
    """Add a problem to ``report`` unless ``note`` carries the cosignatures ``policy`` asks for."""
    if policy is None or not policy.witnesses:
        return
    try:
        cosigned = policy.cosigned_by(note)
    except NoteError as bad:
        report.problem(f"a witness's cosignature on the newest checkpoint is forged: {bad}")
        return
    if len(cosigned) < policy.quorum:
        names = ", ".join(sorted(cosigned)) or "none"
        report.problem(
            f"the newest checkpoint is cosigned by {len(cosigned)} of the {policy.quorum} "
            f"witnesses the policy asks for (cosigned by: {names}): not yet witnessed, or a "
            "history shown to you alone"
        )
    else:
        report.notes.append(
            f"cosigned by {', '.join(sorted(cosigned))}: {len(cosigned)} of the "
            f"{len(policy.witnesses)} witnesses, the policy asks for {policy.quorum}"
        )


def _opened(note: str | None, verifier: Verifier, label: str, report: Report) -> Checkpoint | None:
    if note is None:
        return None
    try:
        checkpoint = verify_checkpoint(note, verifier)
    except NoteError as bad:
        report.problem(f"{label} does not verify: {bad}")
        return None
    return checkpoint
