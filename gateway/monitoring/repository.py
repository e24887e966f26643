"""All SQL of integration monitoring: a month's facts, read in read-only transactions without
any row locks (plain SELECTs over time-indexed columns where the tables are large), and the
computed months."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent.model import Status
from gateway.agencies.tables import Agency
from gateway.audit.tables import AuditEntry
from gateway.consents.notices_tables import WithdrawalNotice
from gateway.consents.tables import ConsentRecord, ConsentVersion
from gateway.monitoring.tables import MonitoringMonth
from gateway.release.tables import Release

_BATCH = 500


def places(session: Session) -> dict[str, tuple[str, str]]:
    """Every agency's kind and municipality, by agency id."""
    rows = session.execute(select(Agency.id, Agency.kind, Agency.municipality))
    return {agency_id: (kind, municipality) for agency_id, kind, municipality in rows}


def municipalities(session: Session) -> set[str]:
    return set(session.scalars(select(Agency.municipality).distinct()))


def audited(
    session: Session,
    event: str,
    start: datetime,
    end: datetime,
    *,
    decision: str | None = None,
    with_body: bool = False,
) -> Iterator[Any]:
    """Entries of one event type recorded in [start, end): requester, subject (the keyed
    pseudonym), reason and, if asked for, body. Streamed."""
    query = (
        select(
            AuditEntry.requester,
            AuditEntry.subject,
            AuditEntry.reason,
            AuditEntry.body if with_body else literal(None).label("body"),
        )
        .where(
            AuditEntry.recorded_at >= start,
            AuditEntry.recorded_at < end,
            AuditEntry.event == event,
        )
        .execution_options(yield_per=5000)
    )
    if decision is not None:
        query = query.where(AuditEntry.decision == decision)
    yield from _streamed(session, query)


def expired(session: Session, start: datetime, end: datetime) -> Iterator[Any]:
    """Consents whose current version ran out in [start, end) while active: recorder, subject."""
    query = (
        select(ConsentRecord.recorded_by, ConsentRecord.subject_id)
        .join(
            ConsentVersion,
            (ConsentVersion.consent_id == ConsentRecord.id)
            & (ConsentVersion.version == ConsentRecord.current_version),
        )
        .where(
            ConsentVersion.status == Status.ACTIVE.value,
            ConsentVersion.valid_until >= start,
            ConsentVersion.valid_until < end,
        )
        .execution_options(yield_per=5000)
    )
    yield from _streamed(session, query)


def in_force(session: Session, moment: datetime) -> Iterator[Any]:
    """Consent versions in force just before ``moment``: recorder, subject, grants."""
    query = (
        select(ConsentRecord.recorded_by, ConsentRecord.subject_id, ConsentVersion.grants)
        .join(ConsentRecord, ConsentRecord.id == ConsentVersion.consent_id)
        .where(
            ConsentVersion.valid_until >= moment,
            ConsentVersion.valid_from < moment,
            ConsentVersion.recorded_at < moment,
            or_(ConsentVersion.ended_at.is_(None), ConsentVersion.ended_at >= moment),
        )
        .execution_options(yield_per=5000)
    )
    yield from _streamed(session, query)


def first_releases(session: Session, consent_ids: Collection[str]) -> Iterator[Any]:
    """For each consent: its first release's time (of any kind: a query's answer, a message
    accepted or fetched), when it was recorded, by whom, about whom."""
    ordered = sorted(consent_ids)
    for offset in range(0, len(ordered), _BATCH):
        yield from session.execute(
            select(
                Release.consent_id,
                func.min(Release.released_at).label("first"),
                ConsentRecord.created_at,
                ConsentRecord.subject_id,
                ConsentRecord.recorded_by,
            )
            .join(ConsentRecord, ConsentRecord.id == Release.consent_id)
            .where(Release.consent_id.in_(ordered[offset : offset + _BATCH]))
            .group_by(
                Release.consent_id,
                ConsentRecord.created_at,
                ConsentRecord.subject_id,
                ConsentRecord.recorded_by,
            )
        )


def notices_created(session: Session, start: datetime, end: datetime) -> Iterator[Any]:
    """Withdrawal notices created in [start, end): recipient, subject, created, acknowledged."""
    query = (
        select(
            WithdrawalNotice.recipient,
            ConsentRecord.subject_id,
            WithdrawalNotice.created_at,
            WithdrawalNotice.acknowledged_at,
        )
        .join(ConsentRecord, ConsentRecord.id == WithdrawalNotice.consent_id)
        .where(WithdrawalNotice.created_at >= start, WithdrawalNotice.created_at < end)
    )
    yield from session.execute(query)


def first_activity(session: Session) -> datetime | None:
    """When the audit log's first entry was recorded: no month before it has anything."""
    return session.scalar(select(func.min(AuditEntry.recorded_at)))


def computed_names(session: Session) -> set[str]:
    return set(session.scalars(select(MonitoringMonth.month)))


def computed(session: Session, first: str, last: str) -> list[MonitoringMonth]:
    return list(
        session.scalars(
            select(MonitoringMonth)
            .where(MonitoringMonth.month >= first, MonitoringMonth.month <= last)
            .order_by(MonitoringMonth.month)
        )
    )


def add_month(session: Session, month: MonitoringMonth) -> bool:
    """Store a computed month; False (nothing written) when another process stored it first."""
    if session.get(MonitoringMonth, month.month) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(month)
    except IntegrityError:
        return False
    return True


def _streamed(session: Session, query: Any) -> Iterator[Any]:
    result = session.execute(query)
    try:
        yield from result
    finally:
        result.close()  # a server-side cursor on PostgreSQL; the caller may stop early
