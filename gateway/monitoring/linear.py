"""Exact linear algebra over the rationals: which sums of unknown cells a set of published
sums determines. Used by the disclosure control to see what a reader can compute."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction

Vector = dict[int, Fraction]


class Span:
    """The sums over unknown cells that a set of equations determines, kept in reduced row
    echelon form: each row has 1 at its pivot, and no pivot appears in another row."""

    def __init__(self) -> None:
        self._rows: dict[int, Vector] = {}

    def add(self, cells: Iterable[int]) -> None:
        """Add the equation "the sum of these cells is known"."""
        row = self._reduce(_ones(cells))
        if not row:
            return
        pivot = min(row)
        scale = row[pivot]
        row = {cell: value / scale for cell, value in row.items()}
        for other in self._rows.values():
            factor = other.get(pivot)
            if factor:
                _subtract(other, row, factor)
        self._rows[pivot] = row

    def determines(self, cells: Iterable[int]) -> bool:
        """Whether the sum of these cells follows from the equations."""
        return not self._reduce(_ones(cells))

    def plain_sums(self) -> Iterator[frozenset[int]]:
        """The rows that are plain sums of cells (every coefficient 1)."""
        for row in self._rows.values():
            if all(value == 1 for value in row.values()):
                yield frozenset(row)

    def _reduce(self, vector: Vector) -> Vector:
        # In reduced form, subtracting one pivot row brings in no other pivot.
        for pivot in [cell for cell in vector if cell in self._rows]:
            factor = vector.get(pivot)
            if factor:
                _subtract(vector, self._rows[pivot], factor)
        return vector


def _ones(cells: Iterable[int]) -> Vector:
    return {cell: Fraction(1) for cell in cells}


def _subtract(vector: Vector, row: Vector, factor: Fraction) -> None:
    for cell, value in row.items():
        result = vector.get(cell, Fraction(0)) - factor * value
        if result:
            vector[cell] = result
        else:
            vector.pop(cell, None)
