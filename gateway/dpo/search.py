"""Searching the audit log from the DPO pages: the filter form, the order and the columns
shown, pages of entries and one entry. The filters are ids and codes (agencies, reasons,
categories), never a person's data, so they may stand in the page's address."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from gateway.audit import reports
from gateway.audit.events import Decision, EventType
from gateway.audit.models import AuditEntryOut
from gateway.audit.notes import Verifier
from gateway.audit.query import Boundary, EntryFilter, Order, search, sorted_search
from gateway.audit.service import AuditLog, encode
from gateway.audit.verify import genuinely_licensed_below
from gateway.dates import utc_moment
from gateway.dpo import labels, repository
from gateway.errors import InvalidRequest, NotFound

PAGE_SIZE = 50
FILTERS = ("since", "until", "agency", "event", "decision", "reason", "category", "purpose")
_AGENCY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_WORD = re.compile(r"^[a-z_]{1,48}$")
_CURSOR = re.compile(r"^(after|before)-([1-9][0-9]{0,17})$")

# The columns a DPO may show, in table order; the position (the entry's link) is always shown.
COLUMNS = (
    "time", "decision", "event", "requester", "provider", "categories", "purpose",
    "legal_basis", "actor", "caseworker", "consent",
)  # fmt: skip
DEFAULT_COLUMNS = ("time", "decision", "event", "requester", "provider", "categories", "purpose")
# The access report's columns beside the time (always shown); all of them unless chosen.
REPORT_COLUMNS = (
    "decision", "requester", "provider", "categories", "purpose", "legal_basis", "caseworker",
    "event",
)  # fmt: skip


@dataclass(frozen=True)
class Search:
    """What the DPO asked for: filters, order and columns; all of it stays in the address, so
    that links, pages and a language switch keep it."""

    criteria: EntryFilter
    given: dict[str, str] = field(default_factory=dict)  # the form's non-empty filter values
    order: Order = Order.TIME
    descending: bool = True  # newest first
    columns: tuple[str, ...] = DEFAULT_COLUMNS

    def pairs(
        self, *, filters: bool = True, order: bool = True, columns: bool = True
    ) -> list[tuple[str, str]]:
        """This search as address parameters: its filters, and its order and columns where
        they are not the usual ones (a form keeps those it does not ask for itself)."""
        found = list(self.given.items()) if filters else []
        if order and self.order is not Order.TIME:
            found.append(("sort", self.order.value))
        if order and not self.descending:
            found.append(("direction", "asc"))
        if columns and self.columns != DEFAULT_COLUMNS:
            found.extend(("column", name) for name in self.columns)
        return found

    def query(self, **extra: str) -> str:
        """The address query of this search (plus ``extra``), for links."""
        return urlencode([*self.pairs(), *extra.items()])

    def export(self, kind: str) -> str:
        """The address of this search's download (its filters; order and columns do not
        change what a file holds)."""
        filters = self.pairs(order=False, columns=False)
        return "/dpo/audit/export?" + urlencode([*filters, ("format", kind)])

    def address(self, path: str, cursor: str | None = None) -> str:
        """``path`` with this search (and the page's cursor) as its query."""
        query = self.query(cursor=cursor) if cursor else self.query()
        return f"{path}?{query}" if query else path

    def unfiltered(self) -> str:
        """The address of the whole log, in this order and with these columns."""
        query = urlencode(self.pairs(filters=False))
        return f"/dpo/audit?{query}" if query else "/dpo/audit"

    def sorted_by(self, order: str, descending: bool) -> str:
        """The address of this search in another order (from its first page)."""
        return replace(self, order=Order(order), descending=descending).address("/dpo/audit")

    def is_sorted(self, order: str, descending: bool) -> bool:
        return self.order.value == order and self.descending == descending

    def shows(self, column: str) -> bool:
        return column in self.columns

    @property
    def active(self) -> bool:
        return bool(self.given)


@dataclass(frozen=True)
class Choices:
    agencies: list[tuple[str, str]]  # (id, display name)
    events: list[tuple[str, list[str]]]  # (group, event codes)
    decisions: list[str]
    reasons: list[str]
    categories: list[str]
    purposes: list[str]


@dataclass(frozen=True)
class Names:
    """Display names for the ids entries hold: agencies, and everyone who can act."""

    agencies: dict[str, str]
    actors: dict[str, str]


@dataclass(frozen=True)
class ResultPage:
    entries: list[AuditEntryOut]
    next_query: str | None  # the address query of the next page, if there is one
    previous_query: str | None  # and of the page before, if this is not the first
    first: bool


@dataclass(frozen=True)
class EntryDetail:
    entry: AuditEntryOut
    leaf_hash: str | None  # hex, once the entry has its place in the tree
    canonical: str | None  # the exact bytes the leaf hashes; None once pruned
    licensed: bool = True  # whether a genuine record of pruning covers a pruned entry


def parse(
    raw: Mapping[str, str | None],
    *,
    sort: str | None = None,
    direction: str | None = None,
    columns: Sequence[str] = (),
) -> Search:
    """The search a filter form asks for; empty fields mean "any", no columns the usual ones."""
    given = {name: value.strip() for name in FILTERS if (value := raw.get(name)) and value.strip()}
    problems: list[dict[str, str]] = []

    def bad(name: str, message: str) -> None:
        problems.append({"path": f"/query/{name}", "message": message})

    times = {}
    for name in ("since", "until"):
        if name in given:
            try:
                times[name] = utc_moment(given[name])
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
    if sort not in (None, *Order):
        bad("sort", "time or position")
    if direction not in (None, "asc", "desc"):
        bad("direction", "asc or desc")
    if len(columns) > len(COLUMNS) or any(column not in COLUMNS for column in columns):
        bad("column", "not a column")
    if problems:
        raise InvalidRequest(errors=problems)
    criteria = EntryFilter(
        since=times.get("since"),
        until=times.get("until"),
        **{name: given.get(name) for name in FILTERS[2:]},
    )
    chosen = tuple(column for column in COLUMNS if column in columns) or DEFAULT_COLUMNS
    return Search(criteria, given, Order(sort or Order.TIME), direction != "asc", chosen)


def report_columns(chosen: Sequence[str]) -> tuple[str, ...]:
    """The access report's columns a form asks for (none: all), in the report's order."""
    if len(chosen) > len(REPORT_COLUMNS) or any(name not in REPORT_COLUMNS for name in chosen):
        raise InvalidRequest(errors=[{"path": "/form/column", "message": "not a column"}])
    return tuple(name for name in REPORT_COLUMNS if name in chosen) or REPORT_COLUMNS


def choices(session: Session) -> Choices:
    return Choices(
        agencies=list(repository.agency_names(session).items()),
        events=labels.event_groups(),
        decisions=[decision.value for decision in Decision],
        reasons=labels.codes("reason"),
        categories=labels.codes("category"),
        purposes=labels.codes("purpose"),
    )


def names(session: Session) -> Names:
    return Names(repository.agency_names(session), repository.actor_names(session))


def result_page(session: Session, wanted: Search, cursor: str | None) -> ResultPage:
    """One page of the search in its order, after or before the cursor's entry (keyset
    paging: no entry is skipped or shown twice while the log grows)."""
    boundary = _boundary(cursor)
    found = sorted_search(
        session,
        wanted.criteria,
        order=wanted.order,
        descending=wanted.descending,
        boundary=boundary,
        limit=PAGE_SIZE + 1,
    )
    if found is None:
        raise _bad_cursor()
    more = len(found) > PAGE_SIZE
    if boundary is not None and not boundary.after:
        if not more:  # the start was reached: the first page, whole
            return result_page(session, wanted, None)
        views = found[1:]
        has_next, has_previous = True, True
    else:
        views = found[:PAGE_SIZE]
        has_next, has_previous = more, boundary is not None
    return ResultPage(
        entries=[reports.entry_out(view) for view in views],
        next_query=wanted.query(cursor=f"after-{views[-1].id}") if has_next and views else None,
        previous_query=(
            wanted.query(cursor=f"before-{views[0].id}") if has_previous and views else None
        ),
        first=not has_previous,
    )


def _boundary(cursor: str | None) -> Boundary | None:
    if cursor is None:
        return None
    found = _CURSOR.fullmatch(cursor)
    if found is None:
        raise _bad_cursor()
    return Boundary(int(found.group(2)), after=found.group(1) == "after")


def _bad_cursor() -> InvalidRequest:
    return InvalidRequest(errors=[{"path": "/query/cursor", "message": "not a cursor"}])


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
