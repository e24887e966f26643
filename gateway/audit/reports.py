"""What DPOs ask of the audit log: pages of entries, proofs, exports (one person's report is
``gateway.audit.access``)."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from gateway.audit import repository
from gateway.audit.cosignatures import WitnessPolicy
from gateway.audit.cosigned import cosigned_checkpoint
from gateway.audit.events import AuditEvent, EventType
from gateway.audit.models import (
    AuditEntryOut,
    AuditPage,
    ConsistencyProof,
    InclusionProof,
)
from gateway.audit.query import EntryFilter, EntryView, leaves_in_order, search
from gateway.audit.service import AuditLog, decode
from gateway.db.engine import Database
from gateway.errors import GatewayError, InvalidRequest, ProblemType, problem_type

NO_CHECKPOINT = problem_type(
    "no-checkpoint", "No checkpoint yet", 404, "The audit log has not signed a checkpoint yet."
)

CSV_COLUMNS = (
    "position", "time", "event", "actor", "requester", "provider", "caseworker", "subject",
    "categories", "purpose", "decision", "reason", "legal_basis", "consent_id",
    "consent_version", "policy_id", "policy_set_digest", "payload_hmac", "payload_sha256",
    "request_id", "trace_id",
)  # fmt: skip


class NoCheckpoint(GatewayError):
    kind: ClassVar[ProblemType] = NO_CHECKPOINT


def encode_cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"e{entry_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        entry_id = int(text[1:]) if text.startswith("e") else -1
        if not 0 <= entry_id < 2**63:
            raise ValueError
        return entry_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest(
            errors=[{"path": "/query/cursor", "message": "not a cursor"}]
        ) from None


def entry_out(view: EntryView) -> AuditEntryOut:
    base: dict[str, Any] = {
        "id": view.id,
        "position": view.seq,
        "recorded_at": view.recorded_at,
        "event": view.event,
    }
    if view.body is None:
        return AuditEntryOut(**base, pruned=True)
    known = AuditEntryOut.model_fields
    fields = {name: value for name, value in view.body.items() if name in known}
    return AuditEntryOut(**(fields | base))


def entries_page(
    session: Session, criteria: EntryFilter, cursor: str | None, limit: int
) -> AuditPage:
    after = decode_cursor(cursor) if cursor else None
    views = search(session, criteria, after, limit + 1)
    more = len(views) > limit
    views = views[:limit]
    return AuditPage(
        entries=[entry_out(view) for view in views],
        next_cursor=encode_cursor(views[-1].id) if more else None,
    )


def latest_checkpoint(session: Session, policy: WitnessPolicy | None = None) -> str:
    """The newest checkpoint ``policy`` is satisfied with, carrying the witnesses'
    cosignatures (verifiers that know no witness ignore those lines); without a policy, or
    before its witnesses cosigned, the newest checkpoint with what it has."""
    note = cosigned_checkpoint(session, policy or WitnessPolicy())
    if note is None:
        raise NoCheckpoint("wait for the first checkpoint, or run `gateway audit checkpoint`")
    return note


def inclusion(session: Session, index: int, tree_size: int) -> InclusionProof:
    _within(session, tree_size, "/query/tree_size")
    if not 0 <= index < tree_size:
        raise InvalidRequest(
            errors=[{"path": "/query/index", "message": "must be below tree_size"}]
        )
    leaf = AuditLog.leaf_of(session, index)
    assert leaf is not None  # index < tree_size <= stored size
    path = AuditLog.inclusion(session, index, tree_size)
    return InclusionProof(
        index=index,
        tree_size=tree_size,
        leaf_hash=_b64(leaf.leaf_hash),
        hashes=[_b64(h) for h in path],
    )


def consistency(session: Session, first: int, second: int) -> ConsistencyProof:
    _within(session, second, "/query/second")
    if not 0 < first <= second:
        raise InvalidRequest(
            errors=[{"path": "/query/first", "message": "must be at least 1 and at most second"}]
        )
    proof = AuditLog.consistency(session, first, second)
    return ConsistencyProof(first=first, second=second, hashes=[_b64(h) for h in proof])


def _within(session: Session, size: int, path: str) -> None:
    stored = repository.latest_checkpoint(session)
    if size < 1 or stored is None or size > stored.size:
        raise InvalidRequest(
            errors=[{"path": path, "message": "must be between 1 and the latest checkpoint's size"}]
        )


def record_export(
    session: Session, audit: AuditLog, actor: str, export_format: str, request_id: str | None
) -> None:
    audit.record(
        session,
        AuditEvent(
            EventType.AUDIT_EXPORTED,
            actor=actor,
            request_id=request_id,
            details={"format": export_format},
        ),
    )


def export_lines(database: Database, export_format: str, criteria: EntryFilter) -> Iterator[str]:
    """The export, line by line, from one read-only snapshot; JSONL ends with the checkpoint."""
    with database.transaction(read_only=True) as session:
        latest = repository.latest_checkpoint(session)
        size = latest.size if latest else 0
        rows = leaves_in_order(session, criteria, below=size)
        if export_format == "csv":
            yield from _csv(row for row in rows if row.matched)
            return
        for row in rows:
            # Entries outside the filter keep their place as a bare leaf hash, so that even a
            # filtered export verifies against the checkpoint. Records of pruning are always
            # shown whole (they hold nothing personal): without them an export could not tell
            # a pruned entry from one emptied from outside.
            record = row.columns is not None and row.columns[0] == EventType.AUDIT_PRUNED.value
            wanted = row.matched or record
            line: dict[str, Any] = {
                "seq": row.seq,
                "id": row.entry_id,
                "leaf_hash": row.leaf_hash.hex(),
                "entry": decode(row.body) if wanted and row.body is not None else None,
            }
            if not wanted:
                line["omitted"] = True
            yield json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"
        if latest is not None:
            yield json.dumps({"checkpoint": latest.note}, ensure_ascii=False) + "\n"


def _csv(rows: Iterator[Any]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        body = decode(row.body) if row.body is not None else {}
        values = {"position": row.seq, **body}
        if "categories" in values:
            values["categories"] = " ".join(values["categories"])
        writer.writerow([values.get(column, "") for column in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()
