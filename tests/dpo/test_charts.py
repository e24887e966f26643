"""The charts' geometry: a round scale, columns and bars to scale, mirrored right to left."""

from __future__ import annotations

import pytest

from gateway.dpo import charts
from gateway.dpo.charts import DayCount


@pytest.mark.parametrize(
    ("highest", "top", "step"),
    [(0, 1, 1), (1, 1, 1), (3, 3, 1), (4, 4, 1), (7, 8, 2), (9, 10, 5), (40, 40, 10),
     (99, 100, 50), (123, 150, 50), (1000, 1000, 500), (987654, 1000000, 500000)],
)  # fmt: skip
def test_the_scale_ends_at_a_round_number_in_at_most_four_steps(highest, top, step):
    assert charts.scale_top(highest) == (top, step)
    assert top >= highest
    assert top // step <= 4


DAYS = [DayCount("2026-11-01", 4, 0), DayCount("2026-11-02", 1, 2), DayCount("2026-11-03", 0, 0)]


def test_columns_stand_on_the_base_line_to_scale():
    chart = charts.columns(DAYS, rtl=False)
    assert [(rect.key, rect.series, rect.value) for rect in chart.rects] == [
        ("2026-11-01", "permit", 4), ("2026-11-02", "permit", 1), ("2026-11-02", "deny", 2),
    ]  # fmt: skip
    span = charts.COLUMN_BASE - charts.COLUMN_TOP
    for rect in chart.rects:
        assert rect.y + rect.height == pytest.approx(charts.COLUMN_BASE)
        assert rect.height == pytest.approx(span * rect.value / 4)
    assert [tick.value for tick in chart.ticks] == [0, 1, 2, 3, 4]
    # Days run left to right, each in its third of the width; permitted before denied.
    first, second, third = chart.rects
    assert first.x < 100 / 3 < second.x < third.x < 200 / 3
    assert [day.text for day in chart.days] == ["11-01", "11-02", "11-03"]


def test_right_to_left_columns_are_the_mirror_image():
    ltr, rtl = charts.columns(DAYS, rtl=False), charts.columns(DAYS, rtl=True)
    for left, right in zip(ltr.rects, rtl.rects, strict=True):
        assert (left.key, left.series) == (right.key, right.series)
        assert right.x == pytest.approx(100 - left.x - left.width)
    assert [day.anchor for day in rtl.days] == ["end"] * 3
    assert rtl.days[0].x == pytest.approx(100)  # the first day at the right edge
    assert (ltr.tick_x, rtl.tick_x) == (0.0, 100.0)
    assert (ltr.direction, rtl.direction) == ("ltr", "rtl")


def test_bars_are_to_scale_and_grow_from_the_start_edge():
    items = [("a", 10), ("b", 5), ("c", 0)]
    ltr, rtl = charts.bars(items, rtl=False), charts.bars(items, rtl=True)
    assert [(rect.x, rect.width) for rect in ltr.rects] == [(0.0, 82.0), (0.0, 41.0)]
    assert [(rect.x, rect.width) for rect in rtl.rects] == [(18.0, 82.0), (59.0, 41.0)]
    assert [value.text for value in ltr.values] == ["10", "5", "0"]
    assert [label.x for label in rtl.labels] == [100.0] * 3
    assert ltr.height == 3 * charts.ROW


def test_labels_of_several_lines_stand_above_their_bar():
    chart = charts.bars([(("koeln-abh → koeln-jobcenter", "residence status"), 3)], rtl=False)
    first, second = chart.labels
    (rect,) = chart.rects
    assert first.y < second.y < rect.y
    assert chart.height == charts.ROW + charts.LINE
