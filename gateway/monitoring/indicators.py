"""The indicators: what each one counts, as tables the disclosure control can protect.

Rows are municipalities; a column is an agency kind, a policy flow and category, a reason, or a
number of agency kinds. Count tables carry their totals: per municipality, per column, overall.
Medians and shares are figures of their own, over the persons of a municipality or of all.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from gateway.monitoring.disclosure import Cell, Key, Line, Statistic, Table

PUBLISHED, SUPPRESSED, EMPTY = "published", "suppressed", "empty"
SPANS = (2, 3, 4)


@dataclass(frozen=True)
class Indicator:
    name: str
    title: str
    unit: str
    dimensions: tuple[str, ...]  # besides month and municipality


CONSENTS_RECORDED = Indicator(
    "consents_recorded",
    "Consents recorded, by the kind of agency that recorded them",
    "consents",
    ("agency_kind",),
)
CONSENTS_WITHDRAWN = Indicator(
    "consents_withdrawn",
    "Consents withdrawn as a whole, by the kind of agency that took the withdrawal",
    "consents",
    ("agency_kind",),
)
CONSENTS_EXPIRED = Indicator(
    "consents_expired",
    "Consents that expired, by the kind of agency that recorded them",
    "consents",
    ("agency_kind",),
)
PERSONS_SPANNING = Indicator(
    "persons_spanning_kinds",
    "Persons with an active consent spanning at least min_kinds agency kinds, at the month's end",
    "persons",
    ("min_kinds",),
)
EXCHANGES = Indicator(
    "exchanges",
    "Categories released in permitted exchanges, by policy flow and category",
    "releases",
    ("flow", "category"),
)
DENIALS = Indicator("denials", "Refused queries, by reason", "queries", ("reason",))
MEDIAN_DAYS = Indicator(
    "median_days_to_first_exchange",
    "Median days from recording a consent to the first exchange permitted under it "
    "(consents whose first exchange fell in the month)",
    "days",
    (),
)
NOTICES_ACKNOWLEDGED = Indicator(
    "notices_acknowledged_within_30_days",
    "Share of withdrawal notices acknowledged within 30 days (notices whose 30 days ended in "
    "the month)",
    "share",
    (),
)
INDICATORS = (
    CONSENTS_RECORDED,
    CONSENTS_WITHDRAWN,
    CONSENTS_EXPIRED,
    PERSONS_SPANNING,
    EXCHANGES,
    DENIALS,
    MEDIAN_DAYS,
    NOTICES_ACKNOWLEDGED,
)


@dataclass(frozen=True)
class Figure:
    """One number of one month as published: ``None`` in a dimension means all of it."""

    indicator: str
    municipality: str | None
    value: int | float | None
    status: str  # published, suppressed, or empty (a median or share over nobody)
    agency_kind: str | None = None
    flow: str | None = None
    category: str | None = None
    reason: str | None = None
    min_kinds: int | None = None


@dataclass(frozen=True)
class Counted:
    """A count table of one indicator, and how its columns read as dimensions."""

    indicator: Indicator
    table: Table
    dimensions: Callable[[Hashable], dict[str, Any]]

    def figures(self, withheld: frozenset[int]) -> list[Figure]:
        figures = []
        for index, statistic in enumerate(self.table.statistics):
            if not statistic.shown:
                continue
            row, column = statistic.key
            shown = index not in withheld
            figures.append(
                Figure(
                    self.indicator.name,
                    _text(row),
                    self.table.total(statistic.cells).value if shown else None,
                    PUBLISHED if shown else SUPPRESSED,
                    **(self.dimensions(column) if column is not None else {}),
                )
            )
        return figures


def by_kind(column: Hashable) -> dict[str, Any]:
    return {"agency_kind": column}


def by_flow(column: Hashable) -> dict[str, Any]:
    flow, category = cast(tuple[str, str], column)
    return {"flow": flow, "category": category}


def by_reason(column: Hashable) -> dict[str, Any]:
    return {"reason": column}


def by_span(column: Hashable) -> dict[str, Any]:
    return {"min_kinds": column}


class Tally:
    """Events counted into the cells of a table, with the persons they concern; events outside
    its rows and columns are left out."""

    def __init__(self, rows: Sequence[str], columns: Sequence[Hashable]):
        self.rows = list(rows)
        self.columns = list(columns)
        self._values: dict[Key, int] = {(r, c): 0 for r in self.rows for c in self.columns}
        self._persons: dict[Key, set[str]] = {key: set() for key in self._values}

    def add(self, row: str, column: Hashable, person: str | None) -> None:
        key = (row, column)
        if key in self._values:
            self._values[key] += 1
            if person is not None:
                self._persons[key].add(person)

    def table(self) -> Table:
        keys = list(self._values)
        cells = tuple(Cell(self._values[key], frozenset(self._persons[key])) for key in keys)
        position = {key: index for index, key in enumerate(keys)}
        parts: dict[Key, list[Key]] = {
            **{(row, None): [(row, c) for c in self.columns] for row in self.rows},
            **{(None, column): [(r, column) for r in self.rows] for column in self.columns},
        }
        statistics = [
            *(Statistic(key, frozenset({position[key]})) for key in keys),
            *(
                Statistic(key, frozenset(position[p] for p in members))
                for key, members in parts.items()
            ),
            Statistic((None, None), frozenset(range(len(cells)))),
        ]
        lines: list[tuple[Key, list[Key]]] = [
            *parts.items(),
            ((None, None), [(row, None) for row in self.rows]),
            ((None, None), [(None, column) for column in self.columns]),
        ]
        return _with_lines(cells, statistics, lines)


def spanning_table(rows: Sequence[str], spans: Iterable[tuple[str, str, int]]) -> Table:
    """Persons by the most agency kinds one of their active consents spans, capped at four.

    The exact counts (2, 3, 4 kinds) are watched, never shown; the figures shown are "at least
    2, 3, 4" per municipality and summed over municipalities (a person with consents recorded
    in two municipalities counts in each)."""
    widest: dict[tuple[str, str], int] = {}
    for row, person, span in spans:
        if row in rows and span >= SPANS[0]:
            widest[row, person] = max(widest.get((row, person), 0), min(span, SPANS[-1]))
    keys = [(row, span) for row in rows for span in SPANS]
    members: dict[Key, set[str]] = {key: set() for key in keys}
    for (row, person), span in widest.items():
        members[row, span].add(person)
    cells = tuple(Cell(len(members[key]), frozenset(members[key])) for key in keys)

    def at_least(span: int, row: str | None) -> frozenset[int]:
        return frozenset(i for i, (r, s) in enumerate(keys) if s >= span and row in (None, r))

    statistics = [
        *(Statistic((r, ("exactly", s)), frozenset({i}), False) for i, (r, s) in enumerate(keys)),
        *(Statistic((row, s), at_least(s, row)) for row in (*rows, None) for s in SPANS),
    ]
    lines: list[tuple[Key, list[Key]]] = [((None, s), [(row, s) for row in rows]) for s in SPANS]
    for row in rows:
        lines += [((row, s), [(row, ("exactly", s)), (row, s + 1)]) for s in SPANS[:-1]]
    return _with_lines(cells, statistics, lines)


def _with_lines(
    cells: tuple[Cell, ...], statistics: list[Statistic], lines: list[tuple[Key, list[Key]]]
) -> Table:
    """A table whose lines (total, parts) are named by the statistics' keys."""
    index = {statistic.key: position for position, statistic in enumerate(statistics)}
    return Table(
        cells,
        tuple(statistics),
        tuple(Line(index[total], tuple(index[p] for p in parts)) for total, parts in lines),
    )


def medians(
    indicator: Indicator,
    rows: Sequence[str],
    samples: Iterable[tuple[str, str, float]],
    threshold: int,
) -> list[Figure]:
    """The median per municipality and overall; each person counts once, with their shortest
    time, and a median is shown only over at least ``threshold`` persons."""
    shortest: dict[str | None, dict[str, float]] = {scope: {} for scope in (*rows, None)}
    for row, person, days in samples:
        if row in shortest:
            for scope in (row, None):
                shortest[scope][person] = min(days, shortest[scope].get(person, days))
    return [
        _summary(indicator, scope, list(times.values()), len(times), threshold, _median)
        for scope, times in shortest.items()
    ]


def shares(
    indicator: Indicator,
    rows: Sequence[str],
    samples: Iterable[tuple[str, str, bool]],
    threshold: int,
) -> list[Figure]:
    """The share of true outcomes per municipality and overall, shown only where the outcomes
    concern at least ``threshold`` persons."""
    outcomes: dict[str | None, list[bool]] = {scope: [] for scope in (*rows, None)}
    persons: dict[str | None, set[str]] = {scope: set() for scope in outcomes}
    for row, person, outcome in samples:
        if row in outcomes:
            for scope in (row, None):
                outcomes[scope].append(outcome)
                persons[scope].add(person)
    return [
        _summary(indicator, scope, outcomes[scope], len(persons[scope]), threshold, _share)
        for scope in outcomes
    ]


def _summary(
    indicator: Indicator,
    scope: str | None,
    values: list[Any],
    persons: int,
    threshold: int,
    compute: Callable[[list[Any]], float],
) -> Figure:
    if persons == 0:
        return Figure(indicator.name, scope, None, EMPTY)
    if persons < threshold:
        return Figure(indicator.name, scope, None, SUPPRESSED)
    return Figure(indicator.name, scope, compute(values), PUBLISHED)


def _median(days: list[float]) -> float:
    return round(statistics.median(days), 1)


def _share(outcomes: list[bool]) -> float:
    return round(sum(outcomes) / len(outcomes), 3)


def _text(row: Hashable) -> str | None:
    return None if row is None else str(row)
