"""What the DPO pages let a DPO download: the audit log (what a search matches) and one
person's access report, each recorded in the log before a byte leaves.

CSV comes in two kinds. Plain CSV (comma, no byte-order mark, the log's own values) is for
tools and scripts. Spreadsheet CSV is for the spreadsheet programs DPOs open files with, in
the page's language: UTF-8 with a byte-order mark (without one, Excel reads UTF-8 as a legacy
code page), ``;`` between fields where the language writes decimals with a comma (there Excel
and LibreOffice expect ``;`` and read a comma file as one column), times as the programs read
them, and no cell that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from babel.numbers import get_decimal_symbol
from sqlalchemy.orm import Session

from gateway.audit import access, reports
from gateway.audit.access import UnknownSubject
from gateway.audit.models import AccessReport
from gateway.audit.service import AuditLog
from gateway.db.engine import Database
from gateway.dpo.search import Search
from gateway.web.i18n import Language

AuditFormat = Literal["csv", "spreadsheet", "jsonl"]
ReportFormat = Literal["csv", "spreadsheet", "json"]
BOM = "\ufeff"
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")

REPORT_COLUMNS = (
    "time", "event", "requester", "provider", "caseworker", "categories", "purpose",
    "legal_basis", "decision", "reason", "consent_id", "details", "deferred",
)  # fmt: skip


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    spreadsheet: bool  # byte-order mark, spreadsheet times, no formulas

    def cell(self, value: str, column: str) -> str:
        if not self.spreadsheet:
            return value
        if column == "time" and value:
            return _spreadsheet_time(value)
        return "'" + value if value.startswith(_FORMULA) else value


PLAIN = Dialect(",", spreadsheet=False)


def spreadsheet(language: Language) -> Dialect:
    """The CSV a spreadsheet program set to ``language`` opens in columns."""
    decimal_comma = get_decimal_symbol(language.code) == ","
    return Dialect(";" if decimal_comma else ",", spreadsheet=True)


def dialect(kind: str, language: Language) -> Dialect:
    return spreadsheet(language) if kind == "spreadsheet" else PLAIN


@dataclass(frozen=True)
class Download:
    lines: Iterable[str]
    media_type: str
    filename: str


def audit_export(
    session: Session,
    audit: AuditLog,
    database: Database,
    *,
    dpo_id: str,
    kind: AuditFormat,
    language: Language,
    wanted: Search,
    request_id: str | None,
) -> Download:
    """Record the export (in the request's transaction), then the export's lines, read from
    their own snapshot as the response streams."""
    reports.record_export(session, audit, dpo_id, kind, request_id)
    if kind == "jsonl":
        lines = reports.export_lines(database, "jsonl", wanted.criteria)
        return Download(lines, "application/x-ndjson", "audit.jsonl")
    plain = reports.export_lines(database, "csv", wanted.criteria)
    return _csv_download(_rewritten(plain, dialect(kind, language)), "audit.csv")


def access_report(
    database: Database,
    audit: AuditLog,
    *,
    dpo_id: str,
    agency: str,
    reference: str,
    kind: ReportFormat,
    language: Language,
    request_id: str | None,
    now: datetime,
) -> Download | None:
    """One person's access report as a file (None if the gateway knows nobody by the
    reference); recorded, like every look at the report, under the person's pseudonym."""
    try:
        report = access.access_report(
            database,
            audit,
            actor=dpo_id,
            agency=agency,
            reference=reference,
            request_id=request_id,
            now=now,
            download=kind,
        )
    except UnknownSubject:
        return None
    if kind == "json":
        # The reference stays out of the file (and of its name): the agency and the records.
        return Download([report.model_dump_json(indent=2)], "application/json", "access.json")
    return _csv_download(_report_rows(report, dialect(kind, language)), "access.csv")


def _csv_download(lines: Iterator[str], filename: str) -> Download:
    return Download(lines, "text/csv; charset=utf-8", filename)


def _rewritten(plain: Iterator[str], chosen: Dialect) -> Iterator[str]:
    """Plain CSV (one record per chunk, as the log's export streams it) in ``chosen``."""
    if chosen == PLAIN:
        yield from plain
        return
    yield BOM
    header: list[str] = []
    for chunk in plain:
        for record in csv.reader(io.StringIO(chunk)):
            yield _line(record, chosen, header)
            header = header or record  # the first record names the columns


def _report_rows(report: AccessReport, chosen: Dialect) -> Iterator[str]:
    if chosen.spreadsheet:
        yield BOM
    yield _line(REPORT_COLUMNS, chosen, ())
    for record in report.records:
        values: dict[str, Any] = record.model_dump(mode="json")
        values["categories"] = " ".join(record.categories)
        values["details"] = " ".join(f"{k}={v}" for k, v in (record.details or {}).items())
        row = [_text(values.get(column)) for column in REPORT_COLUMNS]
        yield _line(row, chosen, REPORT_COLUMNS)


def _line(values: Sequence[str], chosen: Dialect, columns: Sequence[str]) -> str:
    """One CSV record; ``columns`` names the values (none for a header)."""
    named = [chosen.cell(value, columns[i] if columns else "") for i, value in enumerate(values)]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=chosen.delimiter).writerow(named)
    return buffer.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return json.dumps(value)
    return str(value)


def _spreadsheet_time(value: str) -> str:
    """A recorded time (UTC, RFC 3339) as spreadsheet programs read a date and time."""
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value
