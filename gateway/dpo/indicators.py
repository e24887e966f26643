"""The integration-monitoring indicators for the DPO: the published, disclosure-controlled
figures of ``gateway.monitoring.service.read``, charted and tabled. Nothing is computed from raw
data here; a suppressed figure stays suppressed (never a 0, never a bar), a month not computed
yet is marked pending, and months before the audit log began are left out (nothing happened
in them). Reading the page is audited like a read through the API."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.db.engine import Database
from gateway.dpo import charts
from gateway.dpo.charts import BarChart
from gateway.dpo.labels import term
from gateway.errors import InvalidRequest
from gateway.monitoring import repository, service
from gateway.monitoring.aggregation import SETTLE
from gateway.monitoring.indicators import EMPTY, PUBLISHED, SUPPRESSED
from gateway.monitoring.models import FigureOut, IndicatorsOut
from gateway.monitoring.periods import Month
from gateway.web.i18n import N_, gettext

DEFAULT_MONTHS = 12
PENDING = "pending"
DIMENSIONS = ("agency_kind", "flow", "category", "reason", "min_kinds")
# Counted indicators get a chart of their all-municipalities (or chosen municipality) total;
# spans have no total over min_kinds, so theirs shows "at least 2 kinds".
COUNTS = {
    "consents_recorded": N_("Consents recorded"),
    "consents_withdrawn": N_("Consents withdrawn"),
    "consents_expired": N_("Consents expired"),
    "persons_spanning_kinds": N_("Persons whose consents span several kinds of agency"),
    "exchanges": N_("Categories released in permitted exchanges"),
    "denials": N_("Refused queries"),
}
SUMMARIES = {
    "median_days_to_first_exchange": N_("Median days from a consent to its first exchange"),
    "notices_acknowledged_within_30_days": N_(
        "Share of withdrawal notices acknowledged within 30 days"
    ),
}
EXPLAINED = {
    "consents_recorded": N_("By the kind of agency that recorded them."),
    "consents_withdrawn": N_(
        "Consents withdrawn as a whole, by the kind of agency that took the withdrawal."
    ),
    "consents_expired": N_(
        "Consents that ran out while active, by the kind of agency that recorded them."
    ),
    "persons_spanning_kinds": N_(
        "Persons with a consent in force at the month's end whose grants span at least 2, 3 or "
        "4 kinds of agency."
    ),
    "exchanges": N_("By policy flow and category."),
    "denials": N_("By reason."),
    "median_days_to_first_exchange": N_(
        "For the consents whose first exchange fell in the month; each person counts once."
    ),
    "notices_acknowledged_within_30_days": N_(
        "Among the notices whose 30 days ended in the month."
    ),
}


@dataclass(frozen=True)
class Asked:
    first: str
    last: str
    municipality: str


@dataclass(frozen=True)
class Cell:
    status: str  # published, suppressed, empty or pending
    value: int | float | None


@dataclass(frozen=True)
class Row:
    month: str
    cells: list[Cell]  # one per column
    pending: bool  # the whole month is not computed yet: one mark for the row


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    explained: str
    counted: bool
    columns: list[str]  # the table's column headings (translated)
    column_titles: list[str]  # what a heading stands for, on hover ("" if it says it all)
    rows: list[Row]
    chart: BarChart | None
    chart_label: str  # what the chart's bars stand for


@dataclass(frozen=True)
class Pending:
    month: str
    due: datetime  # when the gateway computes it (an hour after the month ends)
    overdue: bool  # not computed though due: the background work is off or behind


@dataclass(frozen=True)
class View:
    asked: Asked
    municipalities: list[str]
    error: str | None
    report: IndicatorsOut | None
    pending: list[Pending]  # months not computed yet
    began: str | None = None  # the month of the log's first entry; nothing before it
    thresholds: list[int] = dataclasses.field(default_factory=list)  # fewest persons shown
    earlier: list[str] = dataclasses.field(default_factory=list)  # asked, before the log began


def default_period(now: datetime, began: Month | None = None) -> tuple[Month, Month]:
    """Up to the previous month (or the log's first, if it began this month), at most 12
    months, and none before the log began: months without a log hold no figures."""
    last = Month.of(now).preceding()
    if began is not None and began > last:
        last = began
    first = last
    for _ in range(DEFAULT_MONTHS - 1):
        if began is not None and first <= began:
            break
        first = first.preceding()
    return first, last


def view(
    session: Session,
    database: Database,
    audit: AuditLog,
    *,
    dpo_id: str,
    first: str | None,
    last: str | None,
    municipality: str | None,
    request_id: str | None,
    now: datetime,
    threshold: int,
) -> View:
    """The figures asked for; a read that is answered is audited in ``session``.
    ``threshold`` is the fewest persons a figure computed now may stand for (the setting), said
    where no computed month tells its own."""
    with database.transaction(read_only=True) as reading:
        places = sorted(repository.municipalities(reading))
        first_entry = repository.first_activity(reading)
    began = Month.of(first_entry) if first_entry is not None else None
    start, end = default_period(now, began)
    asked = Asked(first or str(start), last or str(end), municipality or "")
    try:
        report = service.read(database, *_period(asked.first, asked.last), municipality or None)
    except InvalidRequest as refused:
        return View(asked, places, _message(refused), None, [])
    details: dict[str, str | int | bool] = {"from": asked.first, "to": asked.last}
    details["format"] = "html"
    if municipality:
        details["municipality"] = municipality
    audit.record(
        session,
        AuditEvent(EventType.INDICATORS_READ, actor=dpo_id, request_id=request_id, details=details),
    )
    since = str(began) if began is not None else None
    earlier = [month.month for month in report.months if since is None or month.month < since]
    pending = [
        _pending(month.month, now)
        for month in report.months
        if month.status == PENDING and month.month not in earlier
    ]
    used = sorted({month.threshold for month in report.months if month.threshold is not None})
    return View(asked, places, None, report, pending, since, used or [threshold], earlier)


def _pending(month: str, now: datetime) -> Pending:
    due = Month.parse(month).end + SETTLE
    # A few minutes' grace: the gateway computes one month per round of its background work.
    return Pending(month, due, overdue=due + timedelta(minutes=5) < now)


def _period(first: str, last: str) -> tuple[Month, Month]:
    try:
        start, end = Month.parse(first), Month.parse(last)
    except ValueError:
        raise InvalidRequest(errors=[{"path": "/query", "message": "month"}]) from None
    if end < start:
        raise InvalidRequest(errors=[{"path": "/query/to", "message": "order"}])
    if start.count_to(end) > service.MAX_MONTHS:
        raise InvalidRequest(errors=[{"path": "/query/to", "message": "long"}])
    return start, end


def _message(refused: InvalidRequest) -> str:
    """The reason, in the page's language (marked here, translated as the page renders)."""
    errors = getattr(refused, "errors", None) or [{}]
    path, message = errors[0].get("path", ""), errors[0].get("message", "")
    if path == "/query/municipality":
        return N_("No agency is registered in that municipality.")
    if message == "order":
        return N_("The last month must not come before the first.")
    if message == "long":
        return N_("Choose at most 36 months at a time.")
    return N_("Give the months as year and month, for example 2025-03.")


# The sections are made while the page renders (the template calls this), so that their labels
# are in the page's language.


def sections(found: View, rtl: bool) -> list[Section]:
    report = found.report
    if report is None:
        return []
    months = [month.month for month in report.months if month.month not in found.earlier]
    waiting = {pending.month for pending in found.pending}
    place = found.asked.municipality or None
    made = []
    for name, title in (COUNTS | SUMMARIES).items():
        figures = [figure for figure in report.figures if figure.indicator == name]
        counted = name in COUNTS
        if counted:  # one municipality's (or all of them together) breakdown
            figures = [figure for figure in figures if figure.municipality == place]
        keys = _keys(figures, counted, _first_key(name, counted, place))
        by = {(figure.month, _key(figure, counted)): figure for figure in figures}
        rows = [
            Row(month, [_cell(by.get((month, key)), month in waiting) for key in keys],
                month in waiting)
            for month in months
        ]  # fmt: skip
        chart, chart_label = None, ""
        if counted and months:
            total = _chart_key(name)
            cells = [(month, _cell(by.get((month, total)), month in waiting))
                     for month in months]  # fmt: skip
            chart = _bars(cells, rtl)
            chart_label = gettext("at least 2 kinds") if name == "persons_spanning_kinds" else ""
        made.append(
            Section(
                name=name,
                title=gettext(title),
                explained=gettext(EXPLAINED[name]),
                counted=counted,
                columns=[_heading(key, counted) for key in keys],
                column_titles=[_heading_title(key, counted) for key in keys],
                rows=rows,
                chart=chart,
                chart_label=chart_label,
            )
        )
    return made


Key = tuple[str | int | None, ...]


def _key(figure: FigureOut, counted: bool) -> Key:
    dimensions = tuple(getattr(figure, dimension) for dimension in DIMENSIONS)
    return dimensions if counted else (figure.municipality, *dimensions)


def _first_key(name: str, counted: bool, place: str | None) -> Key:
    """The column every table has, computed months or not: the total (at least 2 kinds), or
    the municipality's (all municipalities') median or share."""
    return _chart_key(name) if counted else (place, None, None, None, None, None)


def _keys(figures: Iterable[FigureOut], counted: bool, first: Key) -> list[Key]:
    """Columns: the total (or all municipalities) first, then the breakdown as it comes."""
    keys: dict[Key, None] = {first: None}
    for figure in figures:
        keys.setdefault(_key(figure, counted), None)
    return sorted(keys, key=lambda key: (any(part is not None for part in key), str(key)))


def _chart_key(name: str) -> Key:
    if name == "persons_spanning_kinds":
        return (None, None, None, None, 2)
    return (None, None, None, None, None)


def _heading(key: Key, counted: bool) -> str:
    if not counted:  # municipalities are known by their code only (no name is registered)
        if key[0] is None:
            return gettext("All municipalities")
        return gettext("Municipality %(code)s") % {"code": key[0]}
    kind, flow, category, reason, min_kinds = key
    if min_kinds is not None:
        return gettext("at least %(kinds)s kinds") % {"kinds": min_kinds}
    parts = [term("kind", str(kind)) if kind else "", str(flow or ""),
             term("category", str(category)) if category else "",
             term("reason", str(reason)) if reason else ""]  # fmt: skip
    shown = " · ".join(part for part in parts if part)
    return shown or gettext("Total")


def _heading_title(key: Key, counted: bool) -> str:
    if counted or key[0] is None:
        return ""
    return gettext("%(code)s is the municipality's code, as its agencies are registered.") % {
        "code": key[0]
    }


def _cell(figure: FigureOut | None, pending: bool) -> Cell:
    if pending:
        return Cell(PENDING, None)
    if figure is None:
        return Cell(EMPTY, None)
    return Cell(figure.status, figure.value if figure.status == PUBLISHED else None)


def _bars(cells: list[tuple[str, Cell]], rtl: bool) -> BarChart:
    """A bar per month; a suppressed or pending month gets a word instead of a bar."""
    items = [(month, int(cell.value or 0) if cell.status == PUBLISHED else 0)
             for month, cell in cells]  # fmt: skip
    chart = charts.bars(items, rtl)
    words = {SUPPRESSED: gettext("suppressed"), PENDING: gettext("pending"), EMPTY: "\u2013"}
    values = [
        dataclasses.replace(text, text=words[cell.status]) if cell.status in words else text
        for text, (_, cell) in zip(chart.values, cells, strict=True)
    ]
    return dataclasses.replace(chart, values=values)
