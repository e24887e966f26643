"""Searching the audit log from the DPO pages: the filter form, pages of entries, one entry,
and exports. The filters are ids and codes (agencies, reasons, categories), never a person's
data, so they may stand in the page's address."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from gateway.audit import reports
from gateway.audit.events import Decision, EventType
from gateway.audit.models import AuditEntryOut
from gateway.audit.notes import Verifier
from gateway.audit.query import EntryFilter, search
from gateway.audit.service import AuditLog, encode
from gateway.audit.verify import genuinely_licensed_below
from gateway.db.engine import Database
from gateway.dpo import labels, repository
from gateway.errors import InvalidRequest, NotFound

PAGE_SIZE = 50
FILTERS = ("since", "until", "agency", "event", "decision", "reason", "category", "purpose")
_AGENCY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_WORD = re.compile(r"^[a-z_]{1,48}$")


@dataclass(frozen=True)
class Search:
    criteria: EntryFilter
    given: dict[str, str] = field(default_factory=dict)  # the form's non-empty values

    def query(self, **extra: str) -> str:
        """The address query of this search (plus ``extra``), for links."""
        return urlencode({**self.given, **extra})

    @property
    def active(self) -> bool:
        return bool(self.given)


@dataclass(frozen=True)
class Choices:
    agencies: list[str]
    events: list[str]
    decisions: list[str]
    reasons: list[str]
    categories: list[str]
    purposes: list[str]


@dataclass(frozen=True)
class ResultPage:
    entries: list[AuditEntryOut]
    next_query: str | None  # the address query of the next page, if there is one
    first: bool


@dataclass(frozen=True)
class EntryDetail:
    entry: AuditEntryOut
    leaf_hash: str | None  # hex, once the entry has its place in the tree
    canonical: str | None  # the exact bytes the leaf hashes; None once pruned
    licensed: bool = True  # whether a genuine record of pruning covers a pruned entry


def parse(raw: Mapping[str, str | None]) -> Search:
    """The search a filter form asks for; empty fields mean "any"."""
    given = {name: value.strip() for name in FILTERS if (value := raw.get(name)) and value.strip()}
    problems: list[dict[str, str]] = []

    def bad(name: str, message: str) -> None:
        problems.append({"path": f"/query/{name}", "message": message})

    times = {}
    for name in ("since", "until"):
        if name in given:
            try:
                times[name] = _utc(given[name])
            except ValueError:
                bad(name, "not a date and time")
    if "agency" in given and not _AGENCY.fullmatch(given["agency"]):
        bad("agency", "not an agency id")
    if "event" in given and given["event"] not in set(EventType):
        bad("event", "not an event type")
    if "decision" in given and given["decision"] not in set(Decision):
        bad("decision", "permit or deny")
    for name in ("reason", "category", "purpose"):
        if name in given and not _WORD.fullmatch(given[name]):
            bad(name, "not a code")
    if problems:
        raise InvalidRequest(errors=problems)
    criteria = EntryFilter(
        since=times.get("since"),
        until=times.get("until"),
        **{name: given.get(name) for name in FILTERS[2:]},
    )
    return Search(criteria, given)


def choices(session: Session) -> Choices:
    return Choices(
        agencies=repository.agency_ids(session),
        events=sorted(event.value for event in EventType),
        decisions=[decision.value for decision in Decision],
        reasons=labels.codes("reason"),
        categories=labels.codes("category"),
        purposes=labels.codes("purpose"),
    )


def result_page(session: Session, wanted: Search, cursor: str | None) -> ResultPage:
    page = reports.entries_page(session, wanted.criteria, cursor, PAGE_SIZE)
    following = wanted.query(cursor=page.next_cursor) if page.next_cursor else None
    return ResultPage(page.entries, following, first=cursor is None)


def entry(session: Session, entry_id: int, verifier: Verifier) -> EntryDetail:
    """One entry; an emptied one says whether a recorded pruning covers it (retention) or
    not (an erasure from outside, which verification names too)."""
    found = search(session, EntryFilter(), after_id=entry_id - 1, limit=1)
    if not found or found[0].id != entry_id:
        raise NotFound()
    view = found[0]
    leaf = AuditLog.leaf_of(session, view.seq) if view.seq is not None else None
    licensed = view.body is not None or (
        view.seq is not None and view.seq < genuinely_licensed_below(session, verifier)
    )
    return EntryDetail(
        reports.entry_out(view),
        leaf.leaf_hash.hex() if leaf is not None else None,
        encode(view.body) if view.body is not None else None,
        licensed,
    )


def export(
    session: Session,
    audit: AuditLog,
    database: Database,
    *,
    dpo_id: str,
    export_format: str,
    wanted: Search,
    request_id: str | None,
) -> Iterator[str]:
    """Record the export (in the request's transaction), then the export's lines, read from
    their own snapshot as the response streams."""
    reports.record_export(session, audit, dpo_id, export_format, request_id)
    return reports.export_lines(database, export_format, wanted.criteria)


def _utc(text: str) -> datetime:
    """A form's date (and time), read as UTC as the API and the CLI read times."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
