"""The log's integrity as a DPO checks it: the latest signed checkpoint and the ones before,
the verifier key, a full verification run on demand (what ``gateway audit verify`` does
against the database), whose result is itself recorded in the log, and the checkpoint and key
as files for the DPO to keep (the very files ``gateway audit verify --checkpoint
--public-key`` reads): a copy kept outside the gateway is what shows a log cut short or
rewritten together with its stored checkpoints. Downloading them is recorded as the export is."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.audit import query, reports
from gateway.audit.cosignatures import WitnessPolicy, split_note, with_cosignatures
from gateway.audit.cosigned import cosignature_lines, cosigned_checkpoint
from gateway.audit.events import AuditEvent, EventType
from gateway.audit.incremental import check_witnesses, verify_stored_from
from gateway.audit.notes import Checkpoint
from gateway.audit.service import AuditLog, decode
from gateway.audit.tables import AuditCheckpoint
from gateway.audit.verify import verify_stored
from gateway.db.engine import Database
from gateway.dpo import repository

HISTORY = 50
_POSITION = re.compile(r"\bposition (\d+)")


@dataclass(frozen=True)
class CheckpointView:
    size: int
    signed_at: datetime
    root: str  # base64, as in the note
    note: str


@dataclass(frozen=True)
class Verification:
    at: datetime
    by: str
    intact: bool
    entries: int
    checkpoints: int
    problems: int
    first_bad_position: int | None
    first_problem: str | None  # the verifier's own words (English)
    from_position: int = 0  # where the check began: 0, or where the previous one ended
    checkpoint_size: int | None = None  # the checkpoint it ended at, if intact
    checkpoint_root: str | None = None


@dataclass(frozen=True)
class Integrity:
    latest: CheckpointView | None
    history: list[CheckpointView]
    checkpoints: int
    placed: int
    waiting: int  # recorded, not yet in a signed checkpoint
    vkey: str
    verification: Verification | None
    interval: float  # seconds between the background checkpoints; 0: none in the background


@dataclass(frozen=True)
class Download:
    filename: str
    text: str


def status(session: Session, audit: AuditLog, interval: float) -> Integrity:
    history = [_view(checkpoint) for checkpoint in repository.recent_checkpoints(session, HISTORY)]
    placed = repository.placed_count(session)
    covered = history[0].size if history else 0
    return Integrity(
        latest=history[0] if history else None,
        history=history,
        checkpoints=repository.checkpoint_count(session),
        placed=placed,
        # Not yet placed in the tree, or placed after the latest checkpoint was signed.
        waiting=query.waiting_count(session) + max(0, placed - covered),
        vkey=audit.verifier.vkey(),
        verification=last_verification(session),
        interval=interval,
    )


def checkpoint_file(
    session: Session, audit: AuditLog, dpo_id: str, request_id: str | None
) -> Download:
    """The latest signed checkpoint, byte for byte as signed, with the cosignatures the
    witnesses returned for it (``NoCheckpoint`` before the first); the download is recorded
    in ``session``."""
    latest = repository.recent_checkpoints(session, 1)
    if not latest:
        raise reports.NoCheckpoint("wait for the first checkpoint")
    reports.record_export(session, audit, dpo_id, "checkpoint", request_id)
    note = with_cosignatures(latest[0].note, cosignature_lines(session, latest[0].size))
    return Download(f"audit-checkpoint-{latest[0].size}.txt", note)


def key_file(session: Session, audit: AuditLog, dpo_id: str, request_id: str | None) -> Download:
    """The log's verifier key (signed-note vkey), as ``gateway audit key`` prints it; the
    download is recorded in ``session``."""
    reports.record_export(session, audit, dpo_id, "key", request_id)
    return Download("audit-log-key.txt", audit.verifier.vkey() + "\n")


def verify_now(
    database: Database,
    audit: AuditLog,
    dpo_id: str,
    request_id: str | None,
    now: datetime,
    *,
    policy: WitnessPolicy | None = None,
    whole: bool = False,
) -> Verification:
    """Check the log as ``gateway audit verify --from`` does: from the checkpoint the last
    intact check ended at (or, with ``whole`` or before any, the whole tree), and that the
    newest checkpoint carries the witness policy's cosignatures; the result goes into the log,
    with the checkpoint it ended at, for the next check to start from.

    The checkpoint to start from is the one stored for the size the last check recorded, and
    must still have the root that check recorded: a log rewritten since shows here too.

    The verification reads in a transaction of its own: on SQLite a writing one would hold
    the write lock, and so stop every exchange, for as long as a large log takes to verify.
    The result is recorded after, in a short one."""
    with database.transaction(read_only=True) as session:
        start = None if whole else _start(session)
    # A transaction of its own: verification reads the whole log in one snapshot, set before
    # its first read.
    with database.transaction(read_only=True) as session:
        if start is None:
            report, ended = verify_stored(session, audit.verifier), _newest(session)
            begin = 0
        else:
            kept, begin = start
            verified = verify_stored_from(session, audit.verifier, kept)
            report, ended = verified.report, verified.checkpoint
        witnessed = cosigned_checkpoint(session, policy or WitnessPolicy())
        if witnessed is not None:
            check_witnesses(witnessed, policy, report)
    first = report.problems[0] if report.problems else None
    position = _POSITION.search(first) if first else None
    details: dict[str, str | int | bool] = {
        "intact": report.intact,
        "entries": report.size,
        "checkpoints": report.checkpoints_checked,
        "problems": len(report.problems),
        "from_position": begin,
    }
    if first is not None:
        details["first_problem"] = first
    if position is not None:
        details["first_bad_position"] = int(position.group(1))
    if report.intact and ended is not None:
        checkpoint = Checkpoint.parse(split_note(ended)[0])
        details["checkpoint_size"] = checkpoint.size
        details["checkpoint_root"] = base64.b64encode(checkpoint.root).decode()
    with database.transaction() as session:
        audit.record(
            session,
            AuditEvent(
                EventType.AUDIT_VERIFIED, actor=dpo_id, request_id=request_id, details=details
            ),
            now=now,
        )
    return _verification(now, dpo_id, details)


def _start(session: Session) -> tuple[str, int] | None:
    """The stored checkpoint the last intact check ended at, if its root is still the one that
    check recorded; None (check everything) otherwise, or if there was no such check."""
    last = last_verification(session)
    if last is None or not last.intact or last.checkpoint_size is None:
        return None
    stored = session.get(AuditCheckpoint, last.checkpoint_size)
    if stored is None or base64.b64encode(stored.root).decode() != last.checkpoint_root:
        return None  # gone or changed: the whole log is checked, and says what is wrong
    return stored.note, stored.size


def _newest(session: Session) -> str | None:
    newest = repository.recent_checkpoints(session, 1)
    return newest[0].note if newest else None


def last_verification(session: Session) -> Verification | None:
    entry = repository.latest_entry_of(session, EventType.AUDIT_VERIFIED.value)
    if entry is None or entry.body is None:
        return None
    body = decode(entry.body)
    return _verification(entry.recorded_at, str(body.get("actor", "")), body.get("details", {}))


def _verification(at: datetime, by: str, details: Mapping[str, object]) -> Verification:
    position = details.get("first_bad_position")
    problem = details.get("first_problem")
    return Verification(
        at=at,
        by=by,
        intact=details.get("intact") is True,
        entries=_int(details.get("entries")),
        checkpoints=_int(details.get("checkpoints")),
        problems=_int(details.get("problems")),
        first_bad_position=position if isinstance(position, int) else None,
        first_problem=problem if isinstance(problem, str) else None,
        from_position=_int(details.get("from_position")),
        checkpoint_size=size if isinstance(size := details.get("checkpoint_size"), int) else None,
        checkpoint_root=root if isinstance(root := details.get("checkpoint_root"), str) else None,
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _view(checkpoint: AuditCheckpoint) -> CheckpointView:
    return CheckpointView(
        size=checkpoint.size,
        signed_at=checkpoint.created_at,
        root=base64.b64encode(checkpoint.root).decode(),
        note=checkpoint.note,
    )
