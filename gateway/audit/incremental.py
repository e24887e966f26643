"""Verification that starts where the last one ended: from a checkpoint kept then, check that
the log still holds that tree (its right edge hashes to the kept root, and a consistency proof
leads from it to the newest checkpoint), walk only the entries added since, and check that the
newest checkpoint carries the cosignatures the witness policy asks for. The newest checkpoint
is then the one to keep for next time.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gateway.audit.cosignatures import WitnessPolicy
from gateway.audit.merkle import Frontier, consistency_proof, frontier_of, verify_consistency
from gateway.audit.notes import Checkpoint, NoteError, Verifier, verify_checkpoint
from gateway.audit.remote import TiledLog
from gateway.audit.verify import Report, verify


@dataclass(frozen=True)
class Outcome:
    report: Report
    newest: str | None  # the newest checkpoint, if everything up to it verified


def verify_tiled(
    log: TiledLog,
    verifier: Verifier,
    *,
    kept: str | None = None,
    policy: WitnessPolicy | None = None,
) -> Outcome:
    """Verify the log served at ``log`` from the checkpoint ``kept`` (from the start without
    one) up to its newest checkpoint."""
    report = Report()
    newest_note = log.checkpoint()
    newest = _opened(newest_note, verifier, "the log's newest checkpoint", report)
    old = _opened(kept, verifier, "the checkpoint you kept", report) if kept else None
    if newest is None or (kept and old is None):
        return Outcome(report, None)
    start = old.size if old is not None else 0
    if start > newest.size:
        report.problem(
            f"the log was cut short or rolled back: the checkpoint you kept covers {start} "
            f"entries, the log's newest covers {newest.size}"
        )
        return Outcome(report, None)
    lookup = log.lookup(newest.size)
    if old is not None and start > 0:
        proof = consistency_proof(start, newest.size, lookup)
        if not verify_consistency(start, newest.size, old.root, newest.root, proof):
            report.problem(
                f"the log's newest checkpoint ({newest.size} entries) does not extend the one "
                f"you kept ({start}): its history was rewritten"
            )
            return Outcome(report, None)
    frontier = frontier_of(start, lookup) if start else Frontier()
    report = _walk(log, verifier, kept, newest_note, newest.size, frontier)
    check_witnesses(newest_note, policy, report)
    return Outcome(report, newest_note if report.intact else None)


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
            f"cosigned by {len(cosigned)} witnesses ({', '.join(sorted(cosigned))}); "
            f"the policy asks for {policy.quorum}"
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


def keep(path: Path, note: str) -> None:
    """Replace the kept checkpoint at ``path`` with ``note``, whole or not at all."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(note)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
