"""Disclosure control for tables that count events about persons.

A table is made of disjoint *cells*, each holding a value (how many events) and the persons
those events concern. What can be published are *statistics*: sums of cells, each with a key of
two coordinates (row, column), where ``None`` stands for "all": ``(row, None)`` is a row total,
``(None, None)`` the grand total. A statistic that is not *shown* is never published but still
watched (e.g. the exact counts behind cumulative figures): it must not be computable either.
*Lines* say which statistics add up to which: a row total is the sum of the row's cells, the
grand total the sum of the row totals.

A group of cells is *sensitive* when it concerns anyone (its value or its persons are not zero)
but fewer than ``threshold`` distinct persons. ``protect`` chooses the statistics to withhold:

1. primary suppression: every sensitive statistic;
2. secondary suppression: while some sensitive group can still be computed from what is
   published, withhold more: the cheapest rectangle of the two-way table that puts the group's
   statistic on a cycle of withheld statistics; where there is none, the cheapest statistic,
   else pair of statistics sharing a line, whose withholding stops the computation.

"Computed" means that the group's sum is a linear combination of published sums, checked exactly
with rational arithmetic: subtracting published cells from published totals, and any chain of
such steps, are all of that form. The groups watched are every statistic, every cell, what
remains of every total once each part that can be computed is subtracted (so the parts withheld
from one total always stand for at least ``threshold`` persons together), and every plain sum
the published equations determine.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field

from gateway.monitoring.linear import Span

Key = tuple[Hashable, Hashable]
# Withholding a total costs more than any inner cell: totals are what a chart shows first.
_TOTAL_COST = 10**9


@dataclass(frozen=True)
class Cell:
    value: int = 0
    persons: frozenset[str] = frozenset()

    def __add__(self, other: Cell) -> Cell:
        return Cell(self.value + other.value, self.persons | other.persons)

    @property
    def empty(self) -> bool:
        return self.value == 0 and not self.persons


@dataclass(frozen=True)
class Statistic:
    key: Key
    cells: frozenset[int]
    shown: bool = True


@dataclass(frozen=True)
class Line:
    """Statistic ``total`` is the sum of the statistics ``parts`` (indices into a table's)."""

    total: int
    parts: tuple[int, ...]


@dataclass(frozen=True)
class Table:
    cells: tuple[Cell, ...]
    statistics: tuple[Statistic, ...]
    lines: tuple[Line, ...] = ()

    def total(self, cells: Iterable[int]) -> Cell:
        return sum((self.cells[index] for index in cells), Cell())


@dataclass(frozen=True)
class Disclosure:
    """A sensitive group of cells that can be computed from the published statistics: a
    statistic, or what remains of the statistic ``within`` after subtracting what is known."""

    cells: frozenset[int]
    statistic: int | None = None
    within: int | None = None


def protect(table: Table, threshold: int) -> frozenset[int]:
    """The shown statistics to withhold (indices into ``table.statistics``)."""
    guard = _Guard(table, threshold)
    withheld = {index for index in guard.shown if guard.sensitive(guard.sums[index])}
    while (found := next(guard.disclosed(withheld), None)) is not None:
        withheld |= guard.complement(withheld, found)
    return frozenset(withheld)


def disclosures(table: Table, withheld: Iterable[int], threshold: int) -> list[Disclosure]:
    """Every watched sensitive group that the statistics not withheld let anyone compute."""
    return list(_Guard(table, threshold).disclosed(set(withheld)))


@dataclass(frozen=True)
class _Knowledge:
    """What the published statistics tell: cells known one by one, and the other equations."""

    known: frozenset[int]
    span: Span

    def computes(self, cells: frozenset[int]) -> bool:
        rest = cells - self.known
        return not rest or self.span.determines(rest)


@dataclass
class _Guard:
    table: Table
    threshold: int
    sums: list[Cell] = field(init=False)
    shown: list[int] = field(init=False)
    partners: dict[int, set[int]] = field(init=False)  # statistics sharing a line with each

    def __post_init__(self) -> None:
        self.sums = [self.table.total(s.cells) for s in self.table.statistics]
        self.shown = [i for i, s in enumerate(self.table.statistics) if s.shown]
        self.partners = {i: set() for i in range(len(self.table.statistics))}
        for line in self.table.lines:
            members = {line.total, *line.parts}
            for member in members:
                self.partners[member] |= members - {member}

    # -- what can be computed ---------------------------------------------------------------

    def sensitive(self, total: Cell) -> bool:
        return not total.empty and len(total.persons) < self.threshold

    def knowledge(self, withheld: set[int]) -> _Knowledge:
        published = [self.table.statistics[i] for i in self.shown if i not in withheld]
        known = frozenset(next(iter(s.cells)) for s in published if len(s.cells) == 1)
        span = Span()
        for statistic in published:
            rest = statistic.cells - known
            if rest:
                span.add(rest)
        return _Knowledge(known, span)

    def disclosed(self, withheld: set[int]) -> Iterator[Disclosure]:
        knowledge = self.knowledge(withheld)
        for group in self._watched(withheld, knowledge):
            if self.sensitive(self._total(group)) and knowledge.computes(group.cells):
                yield group

    def _total(self, group: Disclosure) -> Cell:
        if group.statistic is not None:
            return self.sums[group.statistic]
        return self.table.total(group.cells)

    def _watched(self, withheld: set[int], knowledge: _Knowledge) -> Iterator[Disclosure]:
        statistics = self.table.statistics
        for index, statistic in enumerate(statistics):
            yield Disclosure(statistic.cells, statistic=index)
        for cell in range(len(self.table.cells)):
            yield Disclosure(frozenset({cell}))
        for index in self.shown:
            rest = statistics[index].cells - knowledge.known
            if index not in withheld and rest:
                yield Disclosure(rest, within=index)
        for line in self.table.lines:
            yield from self._remainder(line, knowledge)
        for group in knowledge.span.plain_sums():
            yield Disclosure(group)

    def _remainder(self, line: Line, knowledge: _Knowledge) -> Iterator[Disclosure]:
        """What is left of a computable total once every computable part is subtracted."""
        statistics = self.table.statistics
        if not knowledge.computes(statistics[line.total].cells):
            return
        unknown = [
            statistics[p].cells for p in line.parts if not knowledge.computes(statistics[p].cells)
        ]
        if unknown:
            yield Disclosure(frozenset().union(*unknown), within=line.total)

    # -- what to withhold next --------------------------------------------------------------

    def complement(self, withheld: set[int], found: Disclosure) -> set[int]:
        return self._rectangle(withheld, found) or self._cheapest_fix(withheld, found)

    def cost(self, index: int) -> int:
        key = self.table.statistics[index].key
        return len(self.sums[index].persons) + _TOTAL_COST * key.count(None)

    def _rectangle(self, withheld: set[int], found: Disclosure) -> set[int]:
        """The cheapest corners (row, b), (a, column), (a, b) that complete a rectangle with the
        found statistic at (row, column), each withheld already or not zero."""
        if found.statistic is None:
            return set()
        row, column = self.table.statistics[found.statistic].key
        keys = {s.key: i for i, s in enumerate(self.table.statistics) if s.shown}
        best: tuple[int, set[int]] | None = None
        for other_row in dict.fromkeys(key[0] for key in keys):
            for other_column in dict.fromkeys(key[1] for key in keys):
                if other_row == row or other_column == column:
                    continue
                corners = [(row, other_column), (other_row, column), (other_row, other_column)]
                new = self._new_corners(withheld, [keys.get(corner) for corner in corners])
                cost = sum(map(self.cost, new))
                if new and (best is None or cost < best[0]):
                    best = (cost, new)
        return best[1] if best else set()

    def _new_corners(self, withheld: set[int], corners: list[int | None]) -> set[int]:
        present = [corner for corner in corners if corner is not None]
        new = {corner for corner in present if corner not in withheld}
        if len(present) < len(corners) or any(self.sums[corner].empty for corner in new):
            return set()
        return new

    def _cheapest_fix(self, withheld: set[int], found: Disclosure) -> set[int]:
        """The cheapest statistic, else pair of statistics sharing a line, whose withholding
        stops the computation; failing both, the cheapest statistic near the group."""
        options = sorted(
            (i for i in self.shown if self._available(withheld, i)),
            key=lambda i: (not self._near(i, found), self.cost(i), i),
        )
        # Never empty: with every non-zero statistic withheld, the published ones sum zeros
        # only, and no sensitive group (which holds a non-zero cell) is among their sums.
        assert options, "nothing left to withhold"
        for index in options:
            if self._stops(withheld, {index}, found):
                return {index}
        for first in (i for i in options if self._near(i, found)):
            partners = sorted(
                (i for i in self.partners[first] if self._available(withheld, i)), key=self.cost
            )
            for second in partners:
                if self._stops(withheld, {first, second}, found):
                    return {first, second}
        return {options[0]}

    def _available(self, withheld: set[int], index: int) -> bool:
        """Whether withholding ``index`` could help: shown, not withheld, and not zero."""
        return (
            self.table.statistics[index].shown
            and index not in withheld
            and not self.sums[index].empty
        )

    def _stops(self, withheld: set[int], more: set[int], found: Disclosure) -> bool:
        return not self.knowledge(withheld | more).computes(found.cells)

    def _near(self, index: int, found: Disclosure) -> bool:
        """Whether a statistic is part of the total the group remains of, or shares a row or
        column with the group's statistic."""
        statistics = self.table.statistics
        if found.within is not None:
            return statistics[index].cells <= statistics[found.within].cells
        if found.statistic is None:
            return False
        key, other = statistics[found.statistic].key, statistics[index].key
        return key[0] == other[0] or key[1] == other[1]
