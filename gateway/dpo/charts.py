"""The geometry of the overview's charts, drawn as inline SVG by ``templates/charts.html``.

No script and no style attributes (the pages' CSP forbids both): positions and colours are
SVG attributes. Widths are percentages of the chart's width and heights are pixels, so a chart
fills a phone or a desk screen without shrinking its text. Right-to-left pages get mirrored
charts: bars grow from the right, and days run from right to left.
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
COLUMN_TOP, COLUMN_BASE, COLUMN_HEIGHT = 14, 180, 214
DAY_LABELS = 6  # at most this many day labels under the columns
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


def columns(per_day: Sequence[DayCount], rtl: bool) -> ColumnChart:
    """Permitted and denied decisions side by side for each day."""
    top, step = scale_top(max((max(day.permit, day.deny) for day in per_day), default=0))
    span = COLUMN_BASE - COLUMN_TOP
    slot = 100 / max(len(per_day), 1)
    every = math.ceil(len(per_day) / DAY_LABELS) if per_day else 1
    rects, days = [], []
    for index, day in enumerate(per_day):
        start = (len(per_day) - 1 - index if rtl else index) * slot
        left, right = start + slot * 0.12, start + slot * 0.5
        # Permitted comes first in reading order: on the left, or on the right when rtl.
        offsets = {"permit": right, "deny": left} if rtl else {"permit": left, "deny": right}
        for series, value, fill in (("permit", day.permit, PERMIT), ("deny", day.deny, DENY)):
            if value:
                height = span * value / top
                rects.append(
                    Rect(offsets[series], COLUMN_BASE - height, slot * 0.38, height, fill, value,
                         series, day.day)
                )  # fmt: skip
        if index % every == 0:
            # A label starts at its day's edge that comes first in reading order, so that
            # none runs off the chart (the text itself, a date, always reads left to right).
            edge, anchor = (start + slot, "end") if rtl else (start, "start")
            days.append(Text(edge, COLUMN_BASE + 20, day.day[5:], anchor))
    ticks = [Tick(COLUMN_BASE - span * value / top, value) for value in range(0, top + 1, step)]
    return ColumnChart(
        COLUMN_HEIGHT, rects, days, ticks, 100.0 if rtl else 0.0, "rtl" if rtl else "ltr"
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
