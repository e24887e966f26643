"""For random histories, nothing published gives away a group of fewer than ``threshold``
persons: not a figure itself, not a withheld figure worked out by subtracting published figures
from published totals (repeated as long as anything new comes out), and not what remains of a
published total once everything that can be worked out is subtracted.

The attacker here sees only the published figures (as the endpoint gives them) and how the
table adds up; the truth it is checked against is counted straight from the random events.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.monitoring.disclosure import protect
from gateway.monitoring.indicators import (
    MEDIAN_DAYS,
    PERSONS_SPANNING,
    Counted,
    Figure,
    Indicator,
    Tally,
    by_kind,
    by_span,
    medians,
    spanning_table,
)

ROWS = ("aachen", "bonn", "koeln", "nuernberg")
COLUMNS = ("c1", "c2", "c3", "c4")
TABLE = Indicator("random", "random", "events", ("agency_kind",))
Name = tuple[Hashable, ...]

persons = st.one_of(st.none(), st.integers(0, 14).map(lambda n: f"p{n}"))
thresholds = st.sampled_from([2, 3, 5])


@st.composite
def histories(
    draw: st.DrawFn,
) -> tuple[tuple[str, ...], tuple[str, ...], list[tuple[str, str, str | None]]]:
    rows = ROWS[: draw(st.integers(1, len(ROWS)))]
    columns = COLUMNS[: draw(st.integers(1, len(COLUMNS)))]
    events = draw(
        st.lists(st.tuples(st.sampled_from(rows), st.sampled_from(columns), persons), max_size=70)
    )
    return rows, columns, events


@dataclass
class Truth:
    """What the cells really hold: events and persons per cell, counted from the history."""

    values: dict[Name, int] = field(default_factory=dict)
    persons: dict[Name, set[str]] = field(default_factory=dict)

    def add(self, cell: Name, person: str | None, value: int = 1) -> None:
        self.values[cell] = self.values.get(cell, 0) + value
        self.persons.setdefault(cell, set())
        if person is not None:
            self.persons[cell].add(person)

    def sensitive(self, cells: list[Name], threshold: int) -> bool:
        value = sum(self.values.get(cell, 0) for cell in cells)
        who = set().union(*(self.persons.get(cell, set()) for cell in cells))
        return (value > 0 or bool(who)) and len(who) < threshold


@dataclass
class Attack:
    """Published figures, and how the figures add up: ``total = sum(parts)``."""

    known: dict[Name, int]
    relations: list[tuple[Name, list[Name]]]

    def peel(self) -> dict[Name, int]:
        """Every figure that follows by subtraction, repeated until nothing new follows."""
        known = dict(self.known)
        progress = True
        while progress:
            progress = False
            for total, parts in self.relations:
                unknown = [name for name in (total, *parts) if name not in known]
                if len(unknown) != 1:
                    continue
                (name,) = unknown
                if name == total:
                    known[name] = sum(known[part] for part in parts)
                else:
                    known[name] = known[total] - sum(known[p] for p in parts if p != name)
                progress = True
        return known

    def remainders(self, known: dict[Name, int]) -> list[list[Name]]:
        """For each total that is known: the parts that are not."""
        return [
            [part for part in parts if part not in known]
            for total, parts in self.relations
            if total in known and any(part not in known for part in parts)
        ]


def assert_nothing_small_gives_away(
    attack: Attack, cells_of: dict[Name, list[Name]], truth: Truth, threshold: int
) -> None:
    known = attack.peel()
    for name in known:
        assert not truth.sensitive(cells_of[name], threshold), f"{name} is worked out"
    for parts in attack.remainders(known):
        cells = [cell for part in parts for cell in cells_of[part]]
        assert not truth.sensitive(cells, threshold), f"the rest {parts} is worked out"


def published(figures: list[Figure], dimension: str) -> dict[Name, int]:
    return {
        (f.municipality, getattr(f, dimension)): int(f.value)
        for f in figures
        if f.status == "published" and f.value is not None
    }


# -- two-way tables with totals: consents, exchanges and denials are all of this form ----------


def two_way(
    rows: tuple[str, ...], columns: tuple[str, ...]
) -> tuple[dict[Name, list[Name]], list[tuple[Name, list[Name]]]]:
    inner = [(r, c) for r in rows for c in columns]
    cells_of: dict[Name, list[Name]] = {cell: [cell] for cell in inner}
    cells_of.update({(r, None): [(r, c) for c in columns] for r in rows})
    cells_of.update({(None, c): [(r, c) for r in rows] for c in columns})
    cells_of[None, None] = inner
    relations: list[tuple[Name, list[Name]]] = [
        *(((r, None), [(r, c) for c in columns]) for r in rows),
        *(((None, c), [(r, c) for r in rows]) for c in columns),
        ((None, None), [(r, None) for r in rows]),
        ((None, None), [(None, c) for c in columns]),
    ]
    return cells_of, relations


@settings(max_examples=400, deadline=None)
@given(histories(), thresholds)
def test_no_small_group_can_be_worked_out_of_a_two_way_table(history, threshold):
    rows, columns, events = history
    tally, truth = Tally(rows, columns), Truth()
    for row, column, person in events:
        tally.add(row, column, person)
        truth.add((row, column), person)
    table = tally.table()
    figures = Counted(TABLE, table, by_kind).figures(protect(table, threshold))

    cells_of, relations = two_way(rows, columns)
    assert len(figures) == len(cells_of)
    attack = Attack(published(figures, "agency_kind"), relations)
    assert_nothing_small_gives_away(attack, cells_of, truth, threshold)


@settings(max_examples=400, deadline=None)
@given(
    st.integers(1, len(ROWS)).map(lambda n: ROWS[:n]),
    st.lists(st.tuples(st.sampled_from(ROWS), st.integers(0, 14), st.integers(1, 4)), max_size=40),
    thresholds,
)
def test_no_small_group_can_be_worked_out_of_cumulative_spans(rows, spans, threshold):
    spans = [(row, f"p{person}", span) for row, person, span in spans if row in rows]
    table = spanning_table(rows, spans)
    figures = Counted(PERSONS_SPANNING, table, by_span).figures(protect(table, threshold))

    widest: dict[tuple[str, str], int] = {}
    for row, person, span in spans:
        if span >= 2:
            widest[row, person] = max(widest.get((row, person), 0), span)
    truth = Truth()
    for (row, person), span in widest.items():
        truth.add(("exactly", row, span), person)
    cells_of: dict[Name, list[Name]] = {}
    relations: list[tuple[Name, list[Name]]] = []
    for row in rows:
        for n in (2, 3, 4):
            cells_of["exactly", row, n] = [("exactly", row, n)]
            cells_of[row, n] = [("exactly", row, m) for m in range(n, 5)]
        relations += [((row, 2), [("exactly", row, 2), (row, 3)])]
        relations += [((row, 3), [("exactly", row, 3), (row, 4)])]
        relations += [((row, 4), [("exactly", row, 4)])]
    for n in (2, 3, 4):
        cells_of[None, n] = [cell for row in rows for cell in cells_of[row, n]]
        relations.append(((None, n), [(row, n) for row in rows]))

    attack = Attack(published(figures, "min_kinds"), relations)
    assert_nothing_small_gives_away(attack, cells_of, truth, threshold)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(ROWS[:3]), st.integers(0, 9), st.floats(0, 400)), max_size=30
    ),
    thresholds,
)
def test_a_median_is_shown_only_over_enough_persons(samples, threshold):
    samples = [(row, f"p{person}", days) for row, person, days in samples]
    figures = medians(MEDIAN_DAYS, ROWS[:3], samples, threshold)
    for figure in figures:
        behind = {p for row, p, _ in samples if figure.municipality in (None, row)}
        if figure.status == "published":
            assert len(behind) >= threshold
        else:
            assert figure.value is None
            assert figure.status == ("empty" if not behind else "suppressed")
