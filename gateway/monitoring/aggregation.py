"""Computing a month's indicators once the month is over: its facts are read in one read-only
transaction, every table is protected, and only what may be published is stored, once.

A stored month never changes: every fact of a month is final an hour after it ends (the
acknowledgement share counts the notices whose 30 days ended in the month), and computing a
month again, perhaps under another threshold, would let two versions be set against each other.
Each gateway process runs ``aggregate_due`` among its background chores; ``gateway monitoring
aggregate`` does the same from the command line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from consent.vocabulary import AgencyKind
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.audit.service import AuditLog, decode
from gateway.db.engine import Database
from gateway.monitoring import repository
from gateway.monitoring.disclosure import protect
from gateway.monitoring.indicators import (
    CONSENTS_EXPIRED,
    CONSENTS_RECORDED,
    CONSENTS_WITHDRAWN,
    DENIALS,
    EXCHANGES,
    MEDIAN_DAYS,
    NOTICES_ACKNOWLEDGED,
    PERSONS_SPANNING,
    SUPPRESSED,
    Counted,
    Figure,
    Tally,
    by_flow,
    by_kind,
    by_reason,
    by_span,
    medians,
    shares,
    spanning_table,
)
from gateway.monitoring.periods import Month
from gateway.monitoring.tables import MonitoringMonth
from gateway.policy.model import PolicySet
from gateway.release.decision import Reason

SETTLE = timedelta(hours=1)  # longer than any transaction that could still commit into a month
NOTICE_WINDOW = timedelta(days=30)
KINDS = tuple(kind.value for kind in AgencyKind)
# Refusals the exchange records besides the decision's reasons: the provider failed.
PROVIDER_FAILURES = ("provider_invalid_response", "provider_unreachable", "provider_timeout")
REASONS = (*(reason.value for reason in Reason), *PROVIDER_FAILURES)

Places = dict[str, tuple[str, str]]  # agency id -> (kind, municipality)


def aggregate_due(
    database: Database,
    audit: AuditLog,
    policies: PolicySet,
    threshold: int,
    now: datetime | None = None,
    limit: int = 1,
) -> list[Month]:
    """Compute and store up to ``limit`` months that are over and not yet computed, oldest
    first; the months this call stored."""
    due = due_months(database, now or datetime.now(UTC))[:limit]
    return [month for month in due if aggregate_month(database, audit, policies, month, threshold)]


def due_months(database: Database, now: datetime) -> list[Month]:
    """Months from the audit log's first entry to the last one over, not yet computed."""
    with database.transaction(read_only=True) as session:
        first = repository.first_activity(session)
        done = repository.computed_names(session)
    if first is None:
        return []
    last = Month.of(now - SETTLE).preceding()
    return [month for month in Month.of(first).through(last) if str(month) not in done]


def aggregate_month(
    database: Database, audit: AuditLog, policies: PolicySet, month: Month, threshold: int
) -> bool:
    """Compute one month and store it; False if another process stored it first."""
    figures = compute(database, policies, month, threshold)
    with database.transaction() as session:
        stored = repository.add_month(
            session,
            MonitoringMonth(
                month=str(month),
                threshold=threshold,
                computed_at=datetime.now(UTC),
                figures=[asdict(figure) for figure in figures],
            ),
        )
        if stored:
            suppressed = sum(figure.status == SUPPRESSED for figure in figures)
            audit.record(
                session,
                AuditEvent(
                    EventType.INDICATORS_AGGREGATED,
                    details={"month": str(month), "threshold": threshold, "suppressed": suppressed},
                ),
            )
    return stored


def compute(database: Database, policies: PolicySet, month: Month, threshold: int) -> list[Figure]:
    """Every indicator of ``month``, protected; reads in one read-only transaction."""
    with database.transaction(read_only=True) as session:
        places = repository.places(session)
        rows = sorted({municipality for _, municipality in places.values()})
        exchanges, consents_used = _exchanges(session, places, rows, month, policies)
        counted = [
            _recorded(session, places, rows, month),
            _withdrawn(session, places, rows, month),
            _expired(session, places, rows, month),
            Counted(
                PERSONS_SPANNING, spanning_table(rows, _spans(session, places, month)), by_span
            ),
            exchanges,
            _denials(session, places, rows, month),
        ]
        waits = _waits(session, places, month, consents_used)
        notices = _notice_outcomes(session, places, month)
        summaries = [
            *medians(MEDIAN_DAYS, rows, waits, threshold),
            *shares(NOTICES_ACKNOWLEDGED, rows, notices, threshold),
        ]
    figures = [
        figure for table in counted for figure in table.figures(protect(table.table, threshold))
    ]
    return figures + summaries


# -- consents -----------------------------------------------------------------------------------


def _recorded(session: Session, places: Places, rows: list[str], month: Month) -> Counted:
    tally = Tally(rows, KINDS)
    entries = repository.audited(session, EventType.CONSENT_RECORDED, month.start, month.end)
    for entry in entries:
        _count(tally, places, entry.requester, entry.subject)
    return Counted(CONSENTS_RECORDED, tally.table(), by_kind)


def _withdrawn(session: Session, places: Places, rows: list[str], month: Month) -> Counted:
    """Whole withdrawals, counted where they were taken; taking back some grants leaves the
    consent in force and is not counted."""
    tally = Tally(rows, KINDS)
    entries = repository.audited(
        session, EventType.CONSENT_WITHDRAWN, month.start, month.end, with_body=True
    )
    for entry in entries:
        if entry.body is not None and decode(entry.body).get("details", {}).get("whole"):
            _count(tally, places, entry.requester, entry.subject)
    return Counted(CONSENTS_WITHDRAWN, tally.table(), by_kind)


def _expired(session: Session, places: Places, rows: list[str], month: Month) -> Counted:
    tally = Tally(rows, KINDS)
    for recorder, subject_id in repository.expired(session, month.start, month.end):
        _count(tally, places, recorder, subject_id)
    return Counted(CONSENTS_EXPIRED, tally.table(), by_kind)


def _spans(session: Session, places: Places, month: Month) -> Iterator[tuple[str, str, int]]:
    """(municipality, person, kinds) for every consent in force at the month's end."""
    for recorder, subject_id, grants in repository.in_force(session, month.end):
        agencies = {grant[side] for grant in grants for side in ("from", "to")}
        kinds = {places[agency][0] for agency in agencies if agency in places}
        if recorder in places:
            yield places[recorder][1], subject_id, len(kinds)


def _count(tally: Tally, places: Places, agency: str | None, person: str | None) -> None:
    if agency in places:
        kind, municipality = places[agency]
        tally.add(municipality, kind, person)


# -- exchanges ----------------------------------------------------------------------------------


def _exchanges(
    session: Session, places: Places, rows: list[str], month: Month, policies: PolicySet
) -> tuple[Counted, set[str]]:
    """Released categories by the flow that permitted them, where the recipient is; and the
    consents they rested on. Flows no longer in the active policy set are left out."""
    flows = [(flow.name, category) for flow in policies.flows for category in sorted(flow.fields)]
    tally = Tally(rows, flows)
    consents: set[str] = set()
    entries = repository.audited(
        session,
        EventType.EXCHANGE_DECIDED,
        month.start,
        month.end,
        decision=Decision.PERMIT.value,
        with_body=True,
    )
    for entry in entries:
        if entry.body is None or entry.requester not in places:
            continue
        body = decode(entry.body)
        for category in body.get("categories", []):
            tally.add(places[entry.requester][1], (body.get("policy_id"), category), entry.subject)
        if body.get("consent_id"):
            consents.add(body["consent_id"])
    return Counted(EXCHANGES, tally.table(), by_flow), consents


def _denials(session: Session, places: Places, rows: list[str], month: Month) -> Counted:
    """Refused queries by reason, where the requester is. A refusal about a reference the
    gateway does not know concerns no known person: its cell counts it, but no person."""
    tally = Tally(rows, REASONS)
    entries = repository.audited(
        session, EventType.EXCHANGE_DECIDED, month.start, month.end, decision=Decision.DENY.value
    )
    for entry in entries:
        if entry.requester in places:
            tally.add(places[entry.requester][1], entry.reason, entry.subject)
    return Counted(DENIALS, tally.table(), by_reason)


def _waits(
    session: Session, places: Places, month: Month, consents: Iterable[str]
) -> list[tuple[str, str, float]]:
    """(municipality, person, days) from recording each consent to its first release, for the
    consents whose first release fell in the month."""
    waits = []
    for consent in repository.first_releases(session, set(consents)):
        if consent.recorded_by in places and month.start <= consent.first < month.end:
            days = (consent.first - consent.created_at).total_seconds() / 86400
            waits.append((places[consent.recorded_by][1], consent.subject_id, days))
    return waits


# -- withdrawal notices -------------------------------------------------------------------------


def _notice_outcomes(session: Session, places: Places, month: Month) -> list[tuple[str, str, bool]]:
    """(municipality, person, acknowledged in time) for the notices whose 30 days ended in
    the month, where the recipient is."""
    notices = repository.notices_created(
        session, month.start - NOTICE_WINDOW, month.end - NOTICE_WINDOW
    )
    return [
        (
            places[recipient][1],
            subject_id,
            answered is not None and answered - sent <= NOTICE_WINDOW,
        )
        for recipient, subject_id, sent, answered in notices
        if recipient in places
    ]
