"""All SQL of the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from gateway.audit.events import EventType
from gateway.audit.merkle import Frontier, NodeId
from gateway.audit.tables import (
    AuditCheckpoint,
    AuditEntry,
    AuditLeaf,
    AuditNode,
    AuditPending,
    AuditState,
)

# Any constant: the key of PostgreSQL's advisory lock that lets one sequencer run at a time.
_SEQUENCER_LOCK = 0x6761_7564_6974  # "gaudit"
PRUNED_COLUMNS = (
    "actor", "requester", "provider", "decision", "reason", "purpose", "categories", "subject",
    "body",
)  # fmt: skip


ENTRY_COLUMNS = ("recorded_at", "event", *PRUNED_COLUMNS)

# Built once: appends are on every request's path, and building statements costs more than
# running them.
_ENTRIES: Table = AuditEntry.__table__  # type: ignore[assignment]  # mapped to a Table
_PENDING: Table = AuditPending.__table__  # type: ignore[assignment]
_INSERT_ENTRY = _ENTRIES.insert()
_INSERT_PENDING = _PENDING.insert()
_new_entry = (
    _ENTRIES.insert()
    .values({column: bindparam(column) for column in ENTRY_COLUMNS})
    .returning(_ENTRIES.c.id)
    .cte("entry")
)
_APPEND_IN_ONE = _PENDING.insert().from_select(["entry_id"], select(_new_entry.c.id))


def append(session: Session, values: dict[str, Any]) -> None:
    """Insert an entry and queue it for the sequencer, in as few round trips as the database
    allows (one on PostgreSQL)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_APPEND_IN_ONE, values)
        return
    inserted = connection.execute(_INSERT_ENTRY, values).inserted_primary_key
    assert inserted is not None  # a single-row insert always reports its key
    entry_id = inserted[0]
    connection.execute(_INSERT_PENDING, {"entry_id": entry_id})


def lock_sequencer(session: Session) -> None:
    """Serialise sequencers across processes until the transaction ends.

    On SQLite every writing transaction already holds the database's write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEQUENCER_LOCK})


def load_frontier(session: Session) -> Frontier:
    state = session.get(AuditState, 1)
    if state is None:
        return Frontier()
    return Frontier.from_state(state.size, state.frontier)


def save_frontier(session: Session, frontier: Frontier) -> None:
    state = session.get(AuditState, 1)
    if state is None:
        session.add(AuditState(id=1, size=frontier.size, frontier=frontier.to_state()))
    else:
        state.size, state.frontier = frontier.size, frontier.to_state()
    session.flush()


def pending_entries(session: Session, limit: int) -> Sequence[tuple[int, str | None]]:
    rows = session.execute(
        select(AuditEntry.id, AuditEntry.body)
        .join(AuditPending, AuditPending.entry_id == AuditEntry.id)
        .order_by(AuditEntry.id)
        .limit(limit)
    ).all()
    return [(row.id, row.body) for row in rows]


def place(
    session: Session,
    leaves: list[dict[str, object]],
    nodes: list[dict[str, object]],
    entry_ids: list[int],
) -> None:
    if leaves:
        session.execute(insert(AuditLeaf), leaves)
    if nodes:
        session.execute(insert(AuditNode), nodes)
    session.execute(delete(AuditPending).where(AuditPending.entry_id.in_(entry_ids)))


def nodes(session: Session, wanted: list[NodeId]) -> dict[NodeId, bytes]:
    found: dict[NodeId, bytes] = {}
    leaves = [index for level, index in wanted if level == 0]
    by_level: dict[int, list[int]] = {}
    for level, index in wanted:
        if level > 0:
            by_level.setdefault(level, []).append(index)
    for start in range(0, len(leaves), 500):
        leaf_chunk = leaves[start : start + 500]
        for seq, digest in session.execute(
            select(AuditLeaf.seq, AuditLeaf.leaf_hash).where(AuditLeaf.seq.in_(leaf_chunk))
        ):
            found[(0, seq)] = digest
    # One query per level: "level = ? AND idx IN (...)" walks the primary key on both
    # databases (row-value IN lists can make SQLite scan the table).
    for level, indexes in by_level.items():
        for level_, index, digest in session.execute(
            select(AuditNode.level, AuditNode.idx, AuditNode.hash).where(
                AuditNode.level == level, AuditNode.idx.in_(indexes)
            )
        ):
            found[(level_, index)] = digest
    return found


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1))


def checkpoints(session: Session, start: int = 0) -> Iterator[AuditCheckpoint]:
    """The signed checkpoints of ``start`` entries or more, smallest first."""
    yield from session.scalars(
        select(AuditCheckpoint).where(AuditCheckpoint.size >= start).order_by(AuditCheckpoint.size)
    )


def placed_size(session: Session) -> int:
    """The number of leaves in the tree, from its highest position (an index lookup; counting
    the leaves would read them all). A leaf deleted from the middle is the walk's to find."""
    highest = session.scalar(select(func.max(AuditLeaf.seq)))
    return int(highest) + 1 if highest is not None else 0


def add_checkpoint(session: Session, checkpoint: AuditCheckpoint) -> None:
    session.add(checkpoint)
    session.flush()


def tree_size(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditLeaf)) or 0)


def leaf(session: Session, seq: int) -> AuditLeaf | None:
    return session.get(AuditLeaf, seq)


@dataclass(frozen=True)
class PlacedRow:
    seq: int
    entry_id: int
    leaf_hash: bytes
    event: str | None  # None: the entry row is gone
    recorded_at: datetime | None
    body: str | None  # None once pruned


def placed_from(session: Session, start: int, end: int) -> Iterator[PlacedRow]:
    """The placed entries at positions ``start`` to ``end`` (exclusive), in tree order."""
    result = session.execute(
        select(
            AuditLeaf.seq,
            AuditLeaf.entry_id,
            AuditLeaf.leaf_hash,
            AuditEntry.event,
            AuditEntry.recorded_at,
            AuditEntry.body,
        )
        .outerjoin(AuditEntry, AuditEntry.id == AuditLeaf.entry_id)
        .where(AuditLeaf.seq >= start, AuditLeaf.seq < end)
        .order_by(AuditLeaf.seq)
        .execution_options(yield_per=1000)
    )
    try:
        yield from (PlacedRow(*row) for row in result)
    finally:
        result.close()  # the caller stops at the first entry too young to prune


def licensed_below(session: Session) -> int:
    """How far the latest placed record of pruning lets pruning reach (0: no record yet).
    The same record the database's trigger goes by (migration 0011)."""
    bodies = session.scalars(
        select(AuditEntry.body)
        .join(AuditLeaf, AuditLeaf.entry_id == AuditEntry.id)
        .where(AuditEntry.event == EventType.AUDIT_PRUNED.value, AuditEntry.body.is_not(None))
        .order_by(AuditEntry.id.desc())
    )
    for body in bodies:
        try:
            details = json.loads(body or "{}").get("details")
        except (ValueError, AttributeError):
            continue  # not an entry's JSON: verification names it
        below = details.get("below_position") if isinstance(details, dict) else None
        if type(below) is int:
            return below
    return 0  # none, or only records from before licences, which name no position


def empty(session: Session, entry_ids: list[int]) -> int:
    """Prune these entries: their bodies and searchable copies go, their leaves stay."""
    result = session.execute(
        update(AuditEntry)
        .where(AuditEntry.id.in_(entry_ids), AuditEntry.body.is_not(None))
        .values(dict.fromkeys(PRUNED_COLUMNS))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
