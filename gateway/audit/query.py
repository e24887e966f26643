"""The audit log's read side for DPOs: search, export, and everything about one person."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from gateway.audit.events import EventType
from gateway.audit.service import SEARCHABLE, decode
from gateway.audit.tables import AuditEntry, AuditLeaf, AuditPending


@dataclass(frozen=True)
class EntryFilter:
    since: datetime | None = None
    until: datetime | None = None
    agency: str | None = None
    event: str | None = None
    decision: str | None = None
    reason: str | None = None
    category: str | None = None
    purpose: str | None = None
    subject: str | None = None


@dataclass(frozen=True)
class EntryView:
    id: int
    seq: int | None
    recorded_at: datetime
    event: str
    body: dict[str, Any] | None  # None once pruned


def _filtered(query: Any, criteria: EntryFilter) -> Any:
    """``query`` narrowed to the entries matching ``criteria`` (any select over AuditEntry)."""
    conditions = _conditions(criteria)
    return query.where(and_(*conditions)) if conditions else query


def _conditions(criteria: EntryFilter) -> list[Any]:
    conditions: list[Any] = []
    if criteria.since is not None:
        conditions.append(AuditEntry.recorded_at >= criteria.since)
    if criteria.until is not None:
        conditions.append(AuditEntry.recorded_at < criteria.until)
    if criteria.agency is not None:
        conditions.append(
            or_(
                AuditEntry.requester == criteria.agency,
                AuditEntry.provider == criteria.agency,
                AuditEntry.actor == criteria.agency,
            )
        )
    for column, value in (
        (AuditEntry.event, criteria.event),
        (AuditEntry.decision, criteria.decision),
        (AuditEntry.reason, criteria.reason),
        (AuditEntry.purpose, criteria.purpose),
        (AuditEntry.subject, criteria.subject),
    ):
        if value is not None:
            conditions.append(column == value)
    if criteria.category is not None:
        # Categories are stored space-delimited; "_" must not act as LIKE's wildcard.
        conditions.append(AuditEntry.categories.contains(f" {criteria.category} ", autoescape=True))
    return conditions


def search(
    session: Session, criteria: EntryFilter, after_id: int | None, limit: int
) -> list[EntryView]:
    query = (
        select(AuditEntry, AuditLeaf.seq)
        .outerjoin(AuditLeaf, AuditLeaf.entry_id == AuditEntry.id)
        .order_by(AuditEntry.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(AuditEntry.id > after_id)
    return _views(session, query, criteria)


def _views(session: Session, query: Any, criteria: EntryFilter) -> list[EntryView]:
    """The entries (with their places in the log) of ``query`` that match ``criteria``."""
    return [
        EntryView(
            id=entry.id,
            seq=seq,
            recorded_at=entry.recorded_at,
            event=entry.event,
            body=decode(entry.body) if entry.body is not None else None,
        )
        for entry, seq in session.execute(_filtered(query, criteria))
    ]


class Order(StrEnum):
    """How a page of entries is sorted: by the time recorded, or by the place in the log
    (entries still waiting for a place come after every placed one)."""

    TIME = "time"
    POSITION = "position"


@dataclass(frozen=True)
class Boundary:
    """The entry a page starts after (``after=True``) or ends before, in the page's order."""

    entry_id: int
    after: bool = True


def sorted_search(
    session: Session,
    criteria: EntryFilter,
    *,
    order: Order,
    descending: bool,
    boundary: Boundary | None,
    limit: int,
) -> list[EntryView] | None:
    """Up to ``limit`` matching entries in ``order``, right after (or right before) the
    boundary entry, listed in that order. Keyset paging: each order is total (the entry id
    breaks ties), so pages neither skip nor repeat entries however the log grows. None if the
    boundary entry does not exist."""
    # A page before the boundary is read the other way round, then turned.
    reading = descending if boundary is None or boundary.after else not descending
    query = select(AuditEntry, AuditLeaf.seq).outerjoin(
        AuditLeaf, AuditLeaf.entry_id == AuditEntry.id
    )
    if boundary is not None:
        key = session.execute(
            select(AuditEntry.recorded_at, AuditLeaf.seq)
            .outerjoin(AuditLeaf, AuditLeaf.entry_id == AuditEntry.id)
            .where(AuditEntry.id == boundary.entry_id)
        ).one_or_none()
        if key is None:
            return None
        query = query.where(_beyond(order, reading, boundary.entry_id, *key))
    query = query.order_by(*_sorting(order, reading)).limit(limit)
    views = _views(session, query, criteria)
    return views if reading == descending else views[::-1]


def _sorting(order: Order, descending: bool) -> list[Any]:
    entry = AuditEntry.id.desc() if descending else AuditEntry.id.asc()
    if order is Order.TIME:
        moment = AuditEntry.recorded_at
        return [moment.desc() if descending else moment.asc(), entry]
    # Waiting entries (no place yet) are the newest: first when descending, last ascending.
    place = AuditLeaf.seq.desc().nulls_first() if descending else AuditLeaf.seq.asc().nulls_last()
    return [place, entry]


def _beyond(
    order: Order, descending: bool, entry_id: int, moment: datetime, seq: int | None
) -> Any:
    """The entries that come after the boundary entry (its id, time and place) in this order."""
    later = AuditEntry.id < entry_id if descending else AuditEntry.id > entry_id
    if order is Order.TIME:
        beyond = AuditEntry.recorded_at < moment if descending else AuditEntry.recorded_at > moment
        return or_(beyond, and_(AuditEntry.recorded_at == moment, later))
    waiting = AuditLeaf.seq.is_(None)
    if seq is None:  # among the waiting entries, ordered by id
        return or_(~waiting, and_(waiting, later)) if descending else and_(waiting, later)
    return AuditLeaf.seq < seq if descending else or_(waiting, AuditLeaf.seq > seq)


class LeafRow(NamedTuple):
    """One leaf of the tree with its entry. A tuple, not a dataclass: verification makes one
    per entry of the log, and a tuple costs a fraction of a frozen dataclass to build."""

    seq: int
    entry_id: int
    leaf_hash: bytes
    entry_exists: bool
    body: str | None
    columns: tuple[Any, ...] | None  # the searchable columns, in service.SEARCHABLE order
    matched: bool = True
    omitted: bool = False  # left out of a filtered export (which is not pruning)


_FIRST_SEARCHABLE = 6  # position of the first searchable column in leaves_in_order's rows


def leaves_in_order(
    session: Session,
    criteria: EntryFilter | None = None,
    below: int | None = None,
    start: int = 0,
) -> Iterator[LeafRow]:
    """Every leaf from position ``start`` (below ``below``) with its entry (if the entry row
    still exists), in tree order, streamed.

    With ``criteria``, every leaf still comes, but entries that do not match are marked
    ``matched=False``: an export can then leave their content out and stay verifiable.
    """
    conditions = _conditions(criteria) if criteria is not None else []
    matched = case((and_(*conditions), 1), else_=0) if conditions else literal(1)
    query = (
        select(
            AuditLeaf.seq,
            AuditLeaf.entry_id,
            AuditLeaf.leaf_hash,
            AuditEntry.id.label("found"),
            AuditEntry.body,
            matched.label("matched"),
            *(getattr(AuditEntry, name) for name in SEARCHABLE),
        )
        .outerjoin(AuditEntry, AuditEntry.id == AuditLeaf.entry_id)
        .order_by(AuditLeaf.seq)
        .execution_options(yield_per=5000)
    )
    if below is not None:
        query = query.where(AuditLeaf.seq < below)
    if start:
        query = query.where(AuditLeaf.seq >= start)
    # Core rows, not ORM ones: the ORM's per-row bookkeeping cost more than the checks.
    result = session.connection().execute(query)
    try:
        for batch in result.partitions():
            for row in batch:
                found = row[3] is not None
                yield LeafRow(
                    row[0],
                    row[1],
                    row[2],
                    found,
                    row[4],
                    tuple(row[_FIRST_SEARCHABLE:]) if found else None,
                    bool(row[5]),
                )
    finally:
        result.close()  # a server-side cursor on PostgreSQL; the caller may stop early


def licence_rows(session: Session, start: int = 0) -> list[LeafRow]:
    """The placed entries from position ``start`` on that say they are records of pruning
    (verification checks that they are), in tree order."""
    rows = session.execute(
        select(AuditLeaf.seq, AuditLeaf.entry_id, AuditLeaf.leaf_hash, AuditEntry.body)
        .join(AuditEntry, AuditEntry.id == AuditLeaf.entry_id)
        .where(
            AuditEntry.event == EventType.AUDIT_PRUNED.value,
            AuditEntry.body.is_not(None),
            AuditLeaf.seq >= start,
        )
        .order_by(AuditLeaf.seq)
    )
    return [
        LeafRow(seq, entry_id, digest, True, body, None) for seq, entry_id, digest, body in rows
    ]


def waiting_count(session: Session) -> int:
    """Entries recorded but not yet given their place in the tree (the publisher's next batch).
    Counts the queue only (placing an entry takes it off): its cost is the queue's length,
    never the log's."""
    return int(session.scalar(select(func.count()).select_from(AuditPending)) or 0)


def unplaced_entries(session: Session, from_id: int = 0) -> list[int]:
    """Entries (with ids from ``from_id`` on) that are neither in the tree nor waiting for a
    place: not written by the log. Each candidate is looked up in the leaves' unique index on
    entry_id and the queue's key, and ``from_id`` starts a range on the entries' key: the cost
    grows with the entries from there on, not with the log."""
    # The bounds inside repeat what the equality implies: without them PostgreSQL may hash
    # every leaf for the anti-join instead of reading the index from ``from_id`` on.
    placed = exists().where(AuditLeaf.entry_id == AuditEntry.id, AuditLeaf.entry_id >= from_id)
    waiting = exists().where(
        AuditPending.entry_id == AuditEntry.id, AuditPending.entry_id >= from_id
    )
    return list(
        session.scalars(
            select(AuditEntry.id)
            .where(AuditEntry.id >= from_id, ~placed, ~waiting)
            .order_by(AuditEntry.id)
            .limit(100)
        )
    )


def first_entry_id_from(session: Session, position: int) -> int:
    """The lowest entry id among the leaves from ``position`` on and the queue (placed and
    waiting entries both come in id order, give or take transactions that commit late); with
    neither, the id after the last placed entry. Where incremental verification looks for
    entries outside the log."""
    # "+ 0": min() over the bare column would walk the entry_id index from its start (both
    # databases do) until a leaf from ``position`` on turns up: the whole old log.
    found = session.scalar(
        select(func.min(AuditLeaf.entry_id + 0)).where(AuditLeaf.seq >= position)
    )
    waiting = session.scalar(select(func.min(AuditPending.entry_id)))
    lowest = [value for value in (found, waiting) if value is not None]
    if lowest:
        return int(min(lowest))
    last = session.scalar(select(AuditLeaf.entry_id).where(AuditLeaf.seq == position - 1))
    return int(last) + 1 if last is not None else 0


def about_subject(session: Session, pseudonym: str) -> Iterator[EntryView]:
    """Every entry about one person, oldest first, however many there are."""
    after = None
    while True:
        page = search(session, EntryFilter(subject=pseudonym), after_id=after, limit=1000)
        yield from page
        if len(page) < 1000:
            return
        after = page[-1].id
