"""The charts' geometry: a round scale, columns and bars to scale, wide enough to see when
one day of thirty has data, totals written above them, mirrored right to left."""

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


def test_columns_stand_on_the_base_line_to_scale_denied_on_top_of_permitted():
    chart = charts.columns(DAYS, rtl=False)
    assert [(rect.key, rect.series, rect.value) for rect in chart.rects] == [
        ("2026-11-01", "permit", 4), ("2026-11-02", "permit", 1), ("2026-11-02", "deny", 2),
    ]  # fmt: skip
    span = charts.COLUMN_BASE - charts.COLUMN_TOP
    first, permitted, denied = chart.rects
    for rect in chart.rects:
        assert rect.height == pytest.approx(span * rect.value / 4)
    assert first.y + first.height == pytest.approx(charts.COLUMN_BASE)
    assert permitted.y + permitted.height == pytest.approx(charts.COLUMN_BASE)
    assert denied.y + denied.height == pytest.approx(permitted.y)  # stacked
    assert [tick.value for tick in chart.ticks] == [0, 1, 2, 3, 4]
    # Days run left to right, each in its third of the width, a column 70 % of it.
    assert first.x < 100 / 3 < permitted.x == denied.x < 200 / 3
    assert first.width == pytest.approx(100 / 3 * charts.COLUMN_FILL)
    assert [day.text for day in chart.days] == ["11-01", "11-02", "11-03"]
    assert [(total.text, total.anchor) for total in chart.totals] == [
        ("4", "middle"),
        ("3", "middle"),
    ]
    assert chart.totals[1].y < denied.y


def test_one_busy_day_of_thirty_is_a_wide_column_with_its_total():
    month = [DayCount(f"2026-11-{day:02d}", 3 if day == 17 else 0, 0) for day in range(1, 31)]
    chart = charts.columns(month, rtl=False)
    (rect,) = chart.rects
    # 70 % of a thirtieth: about 8 px of a phone's 350 px wide chart, 30 px at 1280 px.
    assert rect.width * 3.5 >= 8
    assert rect.height == charts.COLUMN_BASE - charts.COLUMN_TOP  # the scale ends at its 3
    (total,) = chart.totals
    assert total.text == "3"
    assert total.x == pytest.approx(rect.x + rect.width / 2)


def test_totals_are_spaced_so_that_they_do_not_overlap():
    busy = [DayCount(f"2026-11-{day:02d}", 100, 20) for day in range(1, 31)]
    chart = charts.columns(busy, rtl=False)
    assert len(chart.totals) == 10  # 3 digits: every third column
    gaps = [b.x - a.x for a, b in zip(chart.totals, chart.totals[1:], strict=False)]
    assert min(gaps) == pytest.approx(3 * 100 / 30)
    # On a phone's 350 px, a third of the width is 35 px: room for "120" (24 px).
    assert min(gaps) / 100 * charts.NARROWEST >= 3 * charts.DIGIT


def test_a_long_period_is_drawn_a_week_to_a_column():
    quarter = [DayCount(f"day-{day:02d}", 1, day % 2) for day in range(90)]
    chart = charts.columns(quarter, rtl=False, days_per_column=7)
    permits = [rect for rect in chart.rects if rect.series == "permit"]
    assert len(permits) == 13  # 12 weeks and 6 days
    assert [rect.value for rect in permits] == [7] * 12 + [6]
    assert permits[0].width == pytest.approx(100 / 13 * charts.COLUMN_FILL)
    assert chart.days_per_column == 7


def test_right_to_left_columns_are_the_mirror_image():
    ltr, rtl = charts.columns(DAYS, rtl=False), charts.columns(DAYS, rtl=True)
    for left, right in zip(ltr.rects, rtl.rects, strict=True):
        assert (left.key, left.series) == (right.key, right.series)
        assert right.x == pytest.approx(100 - left.x - left.width)
        assert right.y == pytest.approx(left.y)
    for left, right in zip(ltr.totals, rtl.totals, strict=True):
        assert right.x == pytest.approx(100 - left.x)
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
