"""The disclosure control on hand-made tables: what is sensitive, what can be computed, and what
``protect`` withholds."""

from __future__ import annotations

from gateway.monitoring.disclosure import Table, disclosures, protect
from gateway.monitoring.indicators import Tally, spanning_table
from tests.monitoring.test_properties import Attack, two_way


def tally(rows: list[str], columns: list[str], counts: dict[tuple[str, str], int]) -> Table:
    """A two-way table where each count is that many events of as many different persons."""
    table = Tally(rows, columns)
    for (row, column), count in counts.items():
        for n in range(count):
            table.add(row, column, f"{row}-{column}-{n}")
    return table.table()


def index(table: Table, *keys: tuple[str | None, str | None]) -> set[int]:
    return {i for i, s in enumerate(table.statistics) if s.key in keys}


def test_a_small_cell_is_withheld_with_a_rectangle_of_complements():
    rows, columns = ["a", "b", "c"], ["x", "y", "z"]
    table = tally(rows, columns, {(r, c): 9 for r in rows for c in columns} | {("a", "x"): 2})
    withheld = protect(table, 5)
    keys = {table.statistics[i].key for i in withheld}
    assert ("a", "x") in keys
    # On a cycle: another cell in its row and column, and the corner closing the rectangle.
    assert len(keys) == 4
    assert len({key[0] for key in keys}) == 2
    assert len({key[1] for key in keys}) == 2
    assert not any(None in key for key in keys)  # the totals all stay
    assert disclosures(table, withheld, 5) == []


def test_zeros_are_published_but_events_about_nobody_known_are_not():
    table = Tally(["a"], ["x", "y", "z"])
    for n in range(6):
        table.add("a", "x", f"p{n}")
    table.add("a", "y", None)  # e.g. a refusal about a reference nobody knows
    built = table.table()
    withheld = {built.statistics[i].key for i in protect(built, 5)}
    assert ("a", "y") in withheld
    assert ("a", "z") not in withheld
    assert ("a", "x") in withheld  # else the row total minus x gives y away


def test_linear_algebra_finds_what_subtracting_line_by_line_does_not():
    """Two cycles of withheld cells joined by one cell: every row and column has at least two
    withheld cells, yet rows a and b minus columns x and y leave exactly the joining cell."""
    rows, columns = ["a", "b", "c", "d"], ["x", "y", "z", "w"]
    counts = {(r, c): 9 for r in rows for c in columns} | {("b", "z"): 1}
    table = tally(rows, columns, counts)
    cycles = [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")]
    cycles += [("c", "z"), ("c", "w"), ("d", "z"), ("d", "w")]
    withheld = index(table, *cycles, ("b", "z"))

    found = disclosures(table, withheld, 5)
    bridge = table.statistics[next(iter(index(table, ("b", "z"))))].cells
    assert bridge in [group.cells for group in found]

    published = {
        s.key: table.total(s.cells).value
        for i, s in enumerate(table.statistics)
        if i not in withheld
    }
    peeled = Attack(published, two_way(tuple(rows), tuple(columns))[1]).peel()
    assert ("b", "z") not in peeled  # line by line, it stays hidden


def test_what_withheld_row_totals_leave_together_must_stand_for_enough_persons():
    """Rows a and b (two persons each) are withheld whole; the grand total minus the other
    row totals would still tell their sum, which concerns four persons."""
    rows, columns = ["a", "b", "c"], ["x", "y"]
    table = tally(rows, columns, {("a", "x"): 2, ("b", "y"): 2, ("c", "x"): 9, ("c", "y"): 9})
    small = index(table, ("a", "x"), ("a", None), ("b", "y"), ("b", None))
    found = disclosures(table, small, 5)
    assert any(group.within is not None for group in found)
    assert disclosures(table, protect(table, 5), 5) == []


def test_cumulative_figures_do_not_give_away_the_exact_counts_behind_them():
    """One person spans exactly 2 kinds, one exactly 3, seven all 4: "at least 2" minus "at
    least 3" would give away one person, minus "at least 4" two. Only "at least 2" can stay."""
    spans = [("koeln", "p1", 2), ("koeln", "p2", 3)] + [("koeln", f"q{n}", 4) for n in range(7)]
    table = spanning_table(["koeln"], spans)
    assert disclosures(table, set(), 5)
    withheld = protect(table, 5)
    assert disclosures(table, withheld, 5) == []
    published = {s.key for i, s in enumerate(table.statistics) if s.shown and i not in withheld}
    assert published == {("koeln", 2), (None, 2)}


def test_protecting_is_deterministic():
    rows, columns = ["a", "b", "c", "d"], ["x", "y", "z"]
    counts = {(r, c): (len(r + c) * 7 + ord(c)) % 6 for r in rows for c in columns}
    table = tally(rows, columns, counts)
    assert protect(table, 5) == protect(table, 5)
