"""The overview: what the gateway decided over a period, counted by the database (read-only
aggregate queries over the audit log), and the state of the log and the notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from gateway.dpo import charts, integrity, repository
from gateway.dpo.charts import BarChart, ColumnChart, DayCount
from gateway.dpo.integrity import Verification
from gateway.dpo.labels import term
from gateway.errors import InvalidRequest

PERIODS = (7, 14, 30, 90)  # longer periods would leave a day's column too thin to see
FLOWS_SHOWN = 12


@dataclass(frozen=True)
class Flow:
    provider: str
    recipient: str
    category: str
    count: int


@dataclass(frozen=True)
class Overview:
    days: int
    first_day: date
    last_day: date
    per_day: list[DayCount]  # every day of the period, oldest first
    by_reason: list[tuple[str, int]]  # most frequent first
    by_flow: list[Flow]  # most frequent first
    permits: int
    denials: int
    notices: int  # withdrawal notices not yet answered
    log_size: int  # entries placed in the tree
    verification: Verification | None


def period(days: int, now: datetime) -> tuple[datetime, datetime]:
    """The last ``days`` calendar days (UTC), today included: [since, until)."""
    until = datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(), UTC)
    return until - timedelta(days=days), until


def overview(session: Session, days: int, now: datetime) -> Overview:
    if days not in PERIODS:
        raise InvalidRequest(errors=[{"path": "/query/days", "message": "7, 14, 30 or 90"}])
    since, until = period(days, now)
    counts: dict[str, dict[str, int]] = {}
    for day, decision, count in repository.decisions_per_day(session, since, until):
        counts.setdefault(day, {})[decision] = count
    per_day = []
    for offset in range(days):
        day = (since + timedelta(days=offset)).date().isoformat()
        found = counts.get(day, {})
        per_day.append(DayCount(day, found.get("permit", 0), found.get("deny", 0)))
    return Overview(
        days=days,
        first_day=since.date(),
        last_day=(until - timedelta(days=1)).date(),
        per_day=per_day,
        by_reason=repository.denials_by_reason(session, since, until),
        by_flow=[
            Flow(*row) for row in repository.releases_per_flow(session, since, until, FLOWS_SHOWN)
        ],
        permits=sum(day.permit for day in per_day),
        denials=sum(day.deny for day in per_day),
        notices=repository.outstanding_notice_count(session),
        log_size=repository.placed_count(session),
        verification=integrity.last_verification(session),
    )


# The charts are made while the page renders (the template calls these), so that their labels
# are in the page's language.


def day_chart(view: Overview, rtl: bool) -> ColumnChart:
    return charts.columns(view.per_day, rtl)


def reason_chart(view: Overview, rtl: bool) -> BarChart:
    items = [(term("reason", reason), count) for reason, count in view.by_reason]
    return charts.bars(items, rtl, charts.DENY)


def flow_chart(view: Overview, rtl: bool) -> BarChart:
    return charts.bars([(flow_label(flow), flow.count) for flow in view.by_flow], rtl)


def flow_label(flow: Flow) -> tuple[str, str]:
    """Two lines, so that a phone shows them whole: the agencies, then the category."""
    return f"{flow.provider} → {flow.recipient}", term("category", flow.category)
