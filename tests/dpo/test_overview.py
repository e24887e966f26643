"""The overview: its numbers are what the log holds (seeded on known days), its charts are
inline SVG with a text alternative, mirrored for right-to-left pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from gateway.dpo import repository as dpo_repository
from tests.dpo.pages import facts, table
from tests.dpo.seeded import Seeded

REASONS = {
    "no_consent": "no consent",
    "no_policy": "no policy allows it",
    "purpose_not_covered": "purpose not covered",
    "consent_expired": "consent expired",
}
CATEGORIES = {"residence_status": "residence status", "benefit_status": "benefit status"}


def svg(html: str, chart_id: str) -> str:
    found = re.search(rf'<svg[^>]*aria-labelledby="{chart_id}-title {chart_id}-desc".*?</svg>',
                      html, re.S)  # fmt: skip
    assert found, chart_id
    return found.group(0)


def bar_widths(chart: str) -> list[float]:
    return [float(width) for width in re.findall(r'<rect x="[^"]+" y="[^"]+" width="([\d.]+)%"',
                                                  chart)]  # fmt: skip


def test_the_numbers_of_the_last_30_days_are_the_logs(signed_in, seeded: Seeded):
    html = signed_in.get("/dpo/overview").text
    per_day = table(html, "Decisions per day")
    assert len(per_day) == 30
    today = datetime.now(UTC).date()
    assert per_day[0][0] == (today - timedelta(days=29)).isoformat()
    assert per_day[-1][0] == today.isoformat()
    counted = {day: (int(permit), int(deny)) for day, permit, deny in per_day}
    assert {day: pair for day, pair in counted.items() if pair != (0, 0)} == seeded.per_day

    by_reason = {reason: int(count) for reason, count in table(html, "Denials by reason")}
    assert by_reason == {REASONS[code]: count for code, count in seeded.by_reason.items()}

    flows = {
        (provider, recipient, category): int(count)
        for provider, recipient, category, count in table(html, "Exchanges per flow")
    }
    assert flows == {
        # The agencies by their registered names (the seed's are made of their ids).
        (f"Agency {provider}", f"Agency {recipient}", CATEGORIES[category]): count
        for (provider, recipient, category), count in seeded.by_flow.items()
    }

    glance = facts(html)
    assert glance["Decisions permitted"] == "4"
    assert glance["Decisions denied"] == "4"
    assert glance["Withdrawal notices not yet answered"] == "2"


def test_a_longer_period_takes_in_older_decisions(signed_in, seeded: Seeded):
    html = signed_in.get("/dpo/overview?days=90").text
    assert len(table(html, "Decisions per day")) == 90
    assert facts(html)["Decisions denied"] == "5"
    assert dict(table(html, "Denials by reason"))["consent expired"] == "1"
    week = signed_in.get("/dpo/overview?days=7").text
    assert facts(week)["Decisions denied"] == "4"


@pytest.mark.parametrize("days", ["5", "0", "400", "lots"])
def test_other_periods_are_refused(signed_in, days):
    assert signed_in.get(f"/dpo/overview?days={days}").status_code == 422


def test_the_charts_are_inline_svg_with_a_name_a_description_and_bars_to_scale(
    signed_in, seeded: Seeded
):
    html = signed_in.get("/dpo/overview").text
    days = svg(html, "chart-days")
    assert 'role="img"' in days
    assert '<title id="chart-days-title">Decisions per day</title>' in days
    assert "4 permitted, 4 denied" in days
    # One part of a column per day and decision that is not zero: 2+1, 1+2, 1+1.
    assert len(bar_widths(days)) == 6
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', days)]
    tallest = max(heights)
    assert sorted(heights) == pytest.approx([tallest / 2] * 4 + [tallest] * 2, abs=0.01)
    # Each day's total is written above its column, and spoken with the chart.
    assert re.findall(r'font-weight="700" direction="ltr">(\d+)</text>', days) == ["3", "3", "2"]
    (first_busy, *_), _ = sorted(seeded.per_day), None
    assert f"{first_busy}: 2 permitted, 1 denied" in days

    reasons = svg(html, "chart-reasons")
    assert bar_widths(reasons) == [82.0, 41.0, 41.0]  # 2, 1, 1: the longest spans 82 %
    assert ">no consent</text>" in reasons
    flows = svg(html, "chart-flows")
    assert bar_widths(flows) == [82.0, pytest.approx(82 / 3, abs=0.001)]
    assert ">Agency koeln-abh → Agency koeln-jobcenter</text>" in flows
    assert ">residence status</text>" in flows


def test_charts_grow_from_the_right_on_right_to_left_pages(signed_in, seeded: Seeded):
    left = svg(signed_in.get("/dpo/overview?lang=en").text, "chart-reasons")
    right = svg(signed_in.get("/dpo/overview?lang=ar").text, "chart-reasons")
    assert re.findall(r'<rect x="([\d.]+)%"', left) == ["0.0", "0.0", "0.0"]
    assert re.findall(r'<rect x="([\d.]+)%"', right) == ["18.0", "59.0", "59.0"]
    assert 'direction="rtl"' in right
    assert ">لا توجد موافقة</text>" in right


def test_without_decisions_the_overview_says_so(signed_in):
    html = signed_in.get("/dpo/overview").text
    assert "No denials in this period." in html
    assert "No data was exchanged in this period." in html
    assert facts(html)["Decisions permitted"] == "0"


def test_its_numbers_are_written_as_the_pages_language_writes_them(
    signed_in, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(dpo_repository, "placed_count", lambda _session: 1234567)
    german = signed_in.get("/dpo/overview?lang=de").text
    english = signed_in.get("/dpo/overview?lang=en").text
    assert "<td>1.234.567</td>" in german
    assert "<td>1,234,567</td>" in english


def test_one_busy_day_of_thirty_gets_a_column_wide_enough_to_see(signed_in, seeded: Seeded):
    html = signed_in.get("/dpo/overview").text
    widths = bar_widths(svg(html, "chart-days"))
    # 70 % of a day's thirtieth: about 8 px of a phone's chart, 30 px of a desk screen's.
    assert widths
    assert all(width == pytest.approx(100 / 30 * 0.7, abs=0.001) for width in widths)


def test_the_charts_numbers_are_text_a_screen_reader_reads(signed_in, seeded: Seeded):
    html = signed_in.get("/dpo/overview").text
    days = svg(html, "chart-days")
    description = re.search(r'<desc id="chart-days-desc">(.*?)</desc>', days, re.S)
    assert description
    said = description.group(1)
    for day, (permitted, denied) in seeded.per_day.items():
        assert f"{day}: {permitted} permitted, {denied} denied" in said
    reasons = re.search(r'<desc id="chart-reasons-desc">(.*?)</desc>', html, re.S)
    assert reasons
    assert "no consent: 2; no policy allows it: 1" in reasons.group(1)
    flows = re.search(r'<desc id="chart-flows-desc">(.*?)</desc>', html, re.S)
    assert flows
    assert "Agency koeln-abh → Agency koeln-jobcenter residence status: 3" in flows.group(1)
    quiet = signed_in.get("/dpo/overview?days=7&lang=de").text
    assert "Tage mit Entscheidungen:" in svg(quiet, "chart-days")


def test_ninety_days_are_drawn_a_week_to_a_column_with_every_day_in_the_table(
    signed_in, seeded: Seeded
):
    html = signed_in.get("/dpo/overview?days=90").text
    assert "A column stands for a week; the table has each day." in html
    days = svg(html, "chart-days")
    assert all(width == pytest.approx(100 / 13 * 0.7, abs=0.001) for width in bar_widths(days))
    assert len(table(html, "Decisions per day")) == 90
