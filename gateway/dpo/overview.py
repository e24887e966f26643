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
from gateway.emergency import review
from gateway.errors import InvalidRequest
from gateway.web.i18n import gettext

PERIODS = (7, 14, 30, 90)
SPOKEN_DAYS = 31  # a chart's text alternative names at most this many days one by one
WEEKLY_AFTER = 31  # longer periods are charted a week to a column, or a day's would be too thin
FLOWS_SHOWN = 12


@dataclass(frozen=True)
class Flow:
    provider: str
    recipient: str
    category: str
    count: int
    provider_name: str = ""  # the registered names (the ids when an agency has none)
    recipient_name: str = ""


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
    emergency: review.Status  # emergency access: releases, reviews open and overdue


def period(days: int, now: datetime) -> tuple[datetime, datetime]:
    """The last ``days`` calendar days (UTC), today included: [since, until)."""
    until = datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(), UTC)
    return until - timedelta(days=days), until


def overview(session: Session, days: int, now: datetime) -> Overview:
    if days not in PERIODS:
        raise InvalidRequest(errors=[{"path": "/query/days", "message": "7, 14, 30 or 90"}])
    since, until = period(days, now)
    names = repository.agency_names(session)
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
            Flow(
                provider,
                recipient,
                category,
                count,
                names.get(provider, provider),
                names.get(recipient, recipient),
            )
            for provider, recipient, category, count in repository.releases_per_flow(
                session, since, until, FLOWS_SHOWN
            )
        ],
        permits=sum(day.permit for day in per_day),
        denials=sum(day.deny for day in per_day),
        notices=repository.outstanding_notice_count(session),
        log_size=repository.placed_count(session),
        verification=integrity.last_verification(session),
        emergency=review.status(session, now),
    )


# The charts are made while the page renders (the template calls these), so that their labels
# are in the page's language.


def day_chart(view: Overview, rtl: bool) -> ColumnChart:
    return charts.columns(view.per_day, rtl, 7 if view.days > WEEKLY_AFTER else 1)


def reason_chart(view: Overview, rtl: bool) -> BarChart:
    items = [(term("reason", reason), count) for reason, count in view.by_reason]
    return charts.bars(items, rtl, charts.DENY)


def flow_chart(view: Overview, rtl: bool) -> BarChart:
    return charts.bars([(flow_label(flow), flow.count) for flow in view.by_flow], rtl)


def flow_label(flow: Flow) -> tuple[str, str]:
    """Two lines, so that a phone shows them whole: the agencies, then the category."""
    return f"{flow.provider_name} → {flow.recipient_name}", term("category", flow.category)


# What a screen reader says for a chart (its SVG is one image): the numbers the bars stand for.


def days_spoken(view: Overview) -> str:
    """The days with decisions, one by one (the first ``SPOKEN_DAYS``; the table has all)."""
    busy = [day for day in view.per_day if day.permit or day.deny]
    if not busy:
        return gettext("No decisions in this period.")
    said = "; ".join(
        gettext("%(day)s: %(permits)s permitted, %(denials)s denied")
        % {"day": day.day, "permits": day.permit, "denials": day.deny}
        for day in busy[:SPOKEN_DAYS]
    )
    more = " " + gettext("The table below has every day.") if len(busy) > SPOKEN_DAYS else ""
    return gettext("Days with decisions:") + " " + said + "." + more


def bars_spoken(items: list[tuple[str, int]]) -> str:
    return "; ".join(f"{label}: {count}" for label, count in items) + "."


def reasons_spoken(view: Overview) -> str:
    return bars_spoken([(term("reason", reason), count) for reason, count in view.by_reason])


def flows_spoken(view: Overview) -> str:
    return bars_spoken([(" ".join(flow_label(flow)), flow.count) for flow in view.by_flow])
