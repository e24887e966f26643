"""Reading the indicators: the computed months of a period, as JSON or CSV. Reading happens in
a read-only transaction; the request's own transaction only records that the figures were read."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.db.engine import Database
from gateway.errors import InvalidRequest
from gateway.monitoring import repository
from gateway.monitoring.errors import NotAcceptable
from gateway.monitoring.indicators import INDICATORS, Indicator
from gateway.monitoring.models import FigureOut, IndicatorOut, IndicatorsOut, MonthOut
from gateway.monitoring.periods import Month
from gateway.monitoring.tables import MonitoringMonth

MAX_MONTHS = 36
JSON, CSV = "application/json", "text/csv"
FORMATS = {"json": JSON, "csv": CSV}
CSV_COLUMNS = tuple(FigureOut.model_fields)


@dataclass(frozen=True)
class Ask:
    """Who asks for which figures, and in what form."""

    actor: str
    first: str
    last: str
    municipality: str | None = None
    format: str | None = None  # json or csv; else the Accept header decides
    accept: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Rendered:
    media_type: str
    body: str


def answer(session: Session, database: Database, audit: AuditLog, ask: Ask) -> Rendered:
    """The figures asked for, rendered; the read is audited in ``session``."""
    media_type = negotiate(ask.accept, ask.format)
    first, last = _period(ask.first, ask.last)
    report = read(database, first, last, ask.municipality)
    _record(session, audit, ask, media_type)
    body = to_csv(report) if media_type == CSV else report.model_dump_json(by_alias=True)
    return Rendered(media_type, body)


def read(database: Database, first: Month, last: Month, municipality: str | None) -> IndicatorsOut:
    with database.transaction(read_only=True) as session:
        if municipality is not None and municipality not in repository.municipalities(session):
            raise InvalidRequest(
                errors=[{"path": "/query/municipality", "message": "no agency is registered there"}]
            )
        stored = {row.month: row for row in repository.computed(session, str(first), str(last))}
    figures = [
        FigureOut(month=row.month, **figure)
        for row in stored.values()
        for figure in row.figures
        if municipality is None or figure["municipality"] == municipality
    ]
    return IndicatorsOut.model_validate(
        {
            "from": str(first),
            "to": str(last),
            "municipality": municipality,
            "indicators": [_indicator(indicator) for indicator in INDICATORS],
            "months": [_month(str(month), stored.get(str(month))) for month in first.through(last)],
            "figures": figures,
        }
    )


def negotiate(accept: str | None, wanted: str | None) -> str:
    """The media type to answer in: the format asked for, else JSON or CSV as the Accept header
    allows (JSON first). Refused when Accept rules out what was asked for, or both."""
    for media_type in [FORMATS[wanted]] if wanted else [JSON, CSV]:
        if _quality(accept, media_type) > 0:
            return media_type
    raise NotAcceptable("ask for application/json or text/csv")


def _quality(accept: str | None, media_type: str) -> float:
    """The q the Accept header gives ``media_type``: its most specific matching range decides."""
    if accept is None or not accept.strip():
        return 1.0
    ranges = {media_type: 2, media_type.split("/")[0] + "/*": 1, "*/*": 0}
    best: tuple[int, float] = (-1, 0.0)
    for part in accept.split(","):
        name, *parameters = (field.strip() for field in part.split(";"))
        specificity = ranges.get(name.lower(), -1)
        if specificity > best[0]:
            best = (specificity, _q(parameters))
    return best[1]


def _q(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def to_csv(report: IndicatorsOut) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for figure in report.figures:
        values = figure.model_dump()
        writer.writerow(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
    return buffer.getvalue()


def _period(first_text: str, last_text: str) -> tuple[Month, Month]:
    try:
        first, last = Month.parse(first_text), Month.parse(last_text)
    except ValueError:
        raise InvalidRequest(
            errors=[{"path": "/query", "message": "from and to are months, YYYY-MM"}]
        ) from None
    if last < first:
        raise InvalidRequest(errors=[{"path": "/query/to", "message": "must not be before from"}])
    if first.count_to(last) > MAX_MONTHS:
        raise InvalidRequest(
            errors=[{"path": "/query/to", "message": f"at most {MAX_MONTHS} months at a time"}]
        )
    return first, last


def _indicator(indicator: Indicator) -> IndicatorOut:
    return IndicatorOut(
        name=indicator.name,
        title=indicator.title,
        unit=indicator.unit,
        dimensions=list(indicator.dimensions),
    )


def _month(name: str, stored: MonitoringMonth | None) -> MonthOut:
    if stored is None:
        return MonthOut(month=name, status="pending")
    return MonthOut(
        month=name,
        status="published",
        threshold=stored.threshold,
        computed_at=stored.computed_at,
    )


def _record(session: Session, audit: AuditLog, ask: Ask, media_type: str) -> None:
    details: dict[str, str | int | bool] = {
        "from": ask.first,
        "to": ask.last,
        "format": "csv" if media_type == CSV else "json",
    }
    if ask.municipality is not None:
        details["municipality"] = ask.municipality
    audit.record(
        session,
        AuditEvent(
            EventType.INDICATORS_READ, actor=ask.actor, request_id=ask.request_id, details=details
        ),
    )
