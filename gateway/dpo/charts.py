"""The geometry of the overview's charts, drawn as inline SVG by ``templates/charts.html``.

No script and no style attributes (the pages' CSP forbids both): positions and colours are
SVG attributes. Widths are percentages of the chart's width and heights are pixels, so a chart
fills a phone or a desk screen without shrinking its text. Right-to-left pages get mirrored
charts: bars grow from the right, and days run from right to left.

A day's permitted and denied decisions stand in one column (denied on top), so that a column
takes 70 % of its day's width: at 30 days that is still about 8 px on a 390 px phone and
30 px on a desk screen. Longer periods are drawn a week to a column. A column's total is
written above it where there is room on a phone (so every other column, or fewer, when the
totals have several digits).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PERMIT = "#1d6b32"  # the pages' "ok" green
DENY = "#a3161a"  # the pages' "danger" red
BAR = "#0b4f8a"  # the pages' accent blue
GRID = "#c4c9d0"
INK = "#1b1b1b"

# Column chart (vertical bars per day), in pixels from the top.
COLUMN_TOP, COLUMN_BASE, COLUMN_HEIGHT = 28, 194, 228  # room above for a total
DAY_LABELS = 6  # at most this many day labels under the columns
COLUMN_FILL = 0.7  # the part of a day's (or week's) width its column takes
# Totals above the columns are spaced so that none overlap on the narrowest chart (a phone's):
# a digit of the 13 px bold figures takes about 8 px.
NARROWEST, DIGIT = 350, 8
# Horizontal bar chart: one row per item, a label above its bar.
ROW, LINE, BAR_HEIGHT, BAR_SPAN = 48, 18, 16, 82.0  # the longest bar spans BAR_SPAN %


@dataclass(frozen=True)
class Rect:
    x: float  # percent
    y: float
    width: float  # percent
    height: float
    fill: str
    value: int
    series: str  # what the bar counts ("permit", "deny", or an item's label)
    key: str  # the day or item it belongs to


@dataclass(frozen=True)
class Text:
    x: float  # percent
    y: float
    text: str
    anchor: str  # start | middle | end, in the chart's direction


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class ColumnChart:
    height: int
    rects: list[Rect]
    days: list[Text]
    ticks: list[Tick]
    tick_x: float
    direction: str
    totals: list[Text]  # a column's total above it (where there is room)
    days_per_column: int = 1


@dataclass(frozen=True)
class BarChart:
    height: int
    rects: list[Rect]
    labels: list[Text]
    values: list[Text]
    direction: str


@dataclass(frozen=True)
class DayCount:
    day: str  # YYYY-MM-DD
    permit: int
    deny: int


def scale_top(highest: int) -> tuple[int, int]:
    """A round top of the scale at or above ``highest``, and the step between grid lines
    (1, 2 or 5 times a power of ten, at most four steps)."""
    highest = max(highest, 1)
    magnitude = 10 ** max(0, int(math.log10(highest)) - 1)
    for step in (magnitude * factor for factor in (1, 2, 5, 10, 20, 50, 100)):
        if math.ceil(highest / step) <= 4:
            return math.ceil(highest / step) * step, step
    raise AssertionError("unreachable: 100 * magnitude covers any number below 10 * magnitude")


def columns(per_day: Sequence[DayCount], rtl: bool, days_per_column: int = 1) -> ColumnChart:
    """Permitted and denied decisions stacked in one column per day (or per ``days_per_column``
    days, the column keyed by its first day)."""
    grouped = [
        DayCount(
            group[0].day,
            sum(day.permit for day in group),
            sum(day.deny for day in group),
        )
        for group in (
            per_day[start : start + days_per_column]
            for start in range(0, len(per_day), days_per_column)
        )
    ]
    top, step = scale_top(max((day.permit + day.deny for day in grouped), default=0))
    span = COLUMN_BASE - COLUMN_TOP
    slot = 100 / max(len(grouped), 1)
    every = math.ceil(len(grouped) / DAY_LABELS) if grouped else 1
    digits = max((len(str(day.permit + day.deny)) for day in grouped), default=1)
    room = math.ceil((digits * DIGIT + 2) / (NARROWEST / max(len(grouped), 1)))
    rects, days, totals = [], [], []
    labelled = -room  # the column that got the last total
    for index, day in enumerate(grouped):
        start = (len(grouped) - 1 - index if rtl else index) * slot
        left, width = start + slot * (1 - COLUMN_FILL) / 2, slot * COLUMN_FILL
        base = float(COLUMN_BASE)
        # Permitted at the bottom, denied on top of it.
        for series, value, fill in (("permit", day.permit, PERMIT), ("deny", day.deny, DENY)):
            if value:
                height = span * value / top
                base -= height
                rects.append(Rect(left, base, width, height, fill, value, series, day.day))
        if day.permit + day.deny and index - labelled >= room:
            totals.append(Text(start + slot / 2, base - 4, str(day.permit + day.deny), "middle"))
            labelled = index
        if index % every == 0:
            # A label starts at its day's edge that comes first in reading order, so that
            # none runs off the chart (the text itself, a date, always reads left to right).
            edge, anchor = (start + slot, "end") if rtl else (start, "start")
            days.append(Text(edge, COLUMN_BASE + 20, day.day[5:], anchor))
    ticks = [Tick(COLUMN_BASE - span * value / top, value) for value in range(0, top + 1, step)]
    return ColumnChart(
        COLUMN_HEIGHT,
        rects,
        days,
        ticks,
        100.0 if rtl else 0.0,
        "rtl" if rtl else "ltr",
        totals,
        days_per_column,
    )


def bars(
    items: Sequence[tuple[str | tuple[str, ...], int]], rtl: bool, fill: str = BAR
) -> BarChart:
    """One horizontal bar per (label, count), in the order given. A label of several lines
    (SVG text does not wrap) stands in lines above its bar."""
    highest = max((count for _, count in items), default=0) or 1
    lines = max((1 if isinstance(label, str) else len(label) for label, _ in items), default=1)
    row_height = ROW + (lines - 1) * LINE
    rects, labels, values = [], [], []
    for row, (label, count) in enumerate(items):
        top = row * row_height
        bar_top = top + 6 + lines * LINE
        width = BAR_SPAN * count / highest
        x = 100 - width if rtl else 0.0
        if count:
            name = label if isinstance(label, str) else " ".join(label)
            rects.append(Rect(x, bar_top, width, BAR_HEIGHT, fill, count, name, name))
        for number, line in enumerate((label,) if isinstance(label, str) else label):
            labels.append(Text(100.0 if rtl else 0.0, top + 16 + number * LINE, line, "start"))
        end = 100 - width - 1 if rtl else width + 1
        values.append(Text(end, bar_top + 13, str(count), "start"))
    return BarChart(max(len(items), 1) * row_height, rects, labels, values, "rtl" if rtl else "ltr")
