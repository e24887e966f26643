"""The indicators page: the published, disclosure-controlled figures of a computed month, a
suppressed figure shown as such (never its count, never a bar), pending months marked once a
row and explained once, no months before the log began, bad periods answered with the form and
a reason, every read recorded in the log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.audit.service import decode
from gateway.audit.tables import AuditEntry
from gateway.dpo import indicators
from gateway.monitoring.aggregation import aggregate_month
from gateway.monitoring.periods import Month
from gateway.runtime import Runtime
from tests.dpo.pages import table, tables
from tests.dpo.seeded import USER, Seeded, day
from tests.monitoring.conftest import march_consents
from tests.monitoring.history import History
from tests.support import Clients

MARCH = Month(2025, 3)
PERIOD = "from=2025-02&to=2025-04"
RECORDED = "Consents recorded"


@pytest.fixture
def computed(runtime: Runtime, clients: Clients) -> None:
    """March 2025 of the monitoring tests' known history (consents recorded in Köln and Bonn),
    computed with the default threshold of 5."""
    march_consents(History.of_agencies(runtime, clients))
    assert aggregate_month(runtime.database, runtime.audit, runtime.policies, MARCH, 5)


def chart(html: str, name: str) -> str:
    found = re.search(rf'<svg[^>]*aria-labelledby="chart-{name}-title chart-{name}-desc".*?</svg>',
                      html, re.S)  # fmt: skip
    assert found, name
    return found.group(0)


def test_signed_out_the_page_sends_to_sign_in(stranger):
    response = stranger.get(f"/dpo/indicators?{PERIOD}")
    assert response.status_code == 303
    assert response.headers["location"] == "/dpo/"


def test_the_page_shows_the_published_figures_and_marks_suppressed_and_pending(signed_in, computed):
    response = signed_in.get(f"/dpo/indicators?{PERIOD}")
    assert response.status_code == 200, response.text
    html = response.text
    rows = {row[0]: row[1:] for row in table(html, RECORDED)}
    # February is asked for, but the log began in March: nothing to show for it.
    assert list(rows) == ["2025-03", "2025-04"]
    assert "The log began in" in html
    headings = [
        "Total",
        "foreigners' office",
        "job centre",
        "social welfare office",
        "youth welfare office",
    ]
    march = dict(zip(headings, rows["2025-03"], strict=True))
    # Two consents recorded by foreigners' offices: fewer than five, so withheld; and the job
    # centres' six with them, or the total would give the two away.
    assert march == {
        "Total": "8",
        "foreigners' office": "suppressed",
        "job centre": "suppressed",
        "social welfare office": "0",
        "youth welfare office": "0",
    }
    assert rows["2025-04"] == ["pending"]  # once for the month, not once a column
    drawn = chart(html, "consents_recorded")
    assert drawn.count("<rect") == 1  # March only
    assert ">8</text>" in drawn
    assert drawn.count(">pending</text>") == 1


def test_a_suppressed_total_is_written_not_drawn(signed_in, computed):
    html = signed_in.get(f"/dpo/indicators?{PERIOD}&municipality=bonn").text
    assert 'value="bonn" selected' in html
    march = {row[0]: row[1] for row in table(html, RECORDED)}["2025-03"]
    assert march == "suppressed"  # Bonn's two consents: never shown as 2, nor as 0
    drawn = chart(html, "consents_recorded")
    assert "<rect" not in drawn
    assert ">suppressed</text>" in drawn
    assert ">2</text>" not in drawn
    assert ">0</text>" not in drawn


def test_reading_the_page_is_recorded_like_a_read_through_the_api(
    signed_in, computed, runtime: Runtime
):
    signed_in.get(f"/dpo/indicators?{PERIOD}&municipality=koeln")
    with runtime.database.transaction(read_only=True) as session:
        (body,) = session.scalars(
            select(AuditEntry.body).where(AuditEntry.event == "indicators.read")
        ).all()
    entry = decode(body)
    assert entry["actor"] == USER
    assert entry["details"] == {
        "from": "2025-02",
        "to": "2025-04",
        "format": "html",
        "municipality": "koeln",
    }


def test_without_a_period_it_shows_the_last_twelve_months(signed_in, computed):
    html = signed_in.get("/dpo/indicators").text
    assert len(table(html, RECORDED)) == 12


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("from=2025-13&to=2025-04", "Give the months as year and month"),
        ("from=March&to=2025-04", "Give the months as year and month"),
        ("from=2025-04&to=2025-02", "must not come before the first"),
        ("from=2020-01&to=2025-04", "at most 36 months"),
        (f"{PERIOD}&municipality=atlantis", "No agency is registered in that municipality"),
        ("from=" + "9" * 20, "Give the months as year and month"),
    ],
)
def test_bad_values_show_the_form_again_with_the_reason(
    signed_in, computed, runtime: Runtime, query, reason
):
    response = signed_in.get(f"/dpo/indicators?{query}")
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        assert reason in response.text
        assert 'role="alert"' in response.text
        assert '<form method="get" action="/dpo/indicators">' in response.text
    with runtime.database.transaction(read_only=True) as session:
        read = session.scalars(
            select(AuditEntry.id).where(AuditEntry.event == "indicators.read")
        ).all()
    assert read == []  # nothing is recorded for a read that was refused


def test_the_navigation_links_the_page(signed_in):
    html = signed_in.get("/dpo/overview").text
    assert '<a href="/dpo/indicators">Indicators</a>' in html
    here = signed_in.get("/dpo/indicators").text
    assert '<a href="/dpo/indicators" aria-current="page">Indicators</a>' in here


@pytest.mark.parametrize("language", ["en", "de", "ar", "uk", "tr", "fa"])
def test_the_page_renders_in_every_language(signed_in, computed, language):
    response = signed_in.get(f"/dpo/indicators?{PERIOD}&lang={language}")
    assert response.status_code == 200, response.text
    html = response.text
    assert f'lang="{language}"' in html
    assert ('dir="rtl"' in html.split(">", 2)[1]) == (language in ("ar", "fa"))
    drawn = chart(html, "consents_recorded")
    assert f'direction="{"rtl" if language in ("ar", "fa") else "ltr"}"' in drawn
    if language != "en":
        assert "Consents recorded" not in html
        assert "suppressed</span>" not in html or language == "en"


MEDIAN = "Median days from a consent to its first exchange"
SHARE = "Share of withdrawal notices acknowledged within 30 days"


@pytest.mark.parametrize(
    ("began", "months"),
    [
        (None, ("2025-12", "2026-11")),  # no log yet: the last twelve months
        ("2024-01", ("2025-12", "2026-11")),  # a long log: the last twelve
        ("2026-09", ("2026-09", "2026-11")),  # a young log: from its first month
        ("2026-12", ("2026-12", "2026-12")),  # begun this month: this month alone
    ],
)
def test_the_default_period_starts_no_earlier_than_the_log(began, months):
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    first, last = indicators.default_period(now, Month.parse(began) if began else None)
    assert (str(first), str(last)) == months


def test_by_default_the_page_starts_at_the_logs_first_month(signed_in, seeded: Seeded):
    html = signed_in.get("/dpo/indicators").text
    first = Month.of(day(40))  # the seeded log's first entry
    last = Month.of(datetime.now(UTC)).preceding()
    wanted = [str(month) for month in first.through(max(first, last))]
    assert [row[0] for row in table(html, RECORDED)] == wanted


def test_a_month_not_computed_is_pending_once_a_row_and_explained_once(signed_in, seeded):
    html = signed_in.get("/dpo/indicators").text
    for _month, *cells in table(html, RECORDED):
        assert cells == ["pending"]  # one mark for the month, not one for each column
    assert html.count("Not computed yet.") == 1
    # Last month is over by more than an hour: it should have been computed. These tests'
    # gateway runs no background work, so the page names the command that does it.
    last = str(Month.of(datetime.now(UTC)).preceding())
    assert re.search(rf"{last}</time>: due since <time[^>]*>[^<]*</time>\. ", html)
    assert "gateway monitoring aggregate" in html


def test_the_current_month_says_when_it_will_be_computed(signed_in, seeded):
    this = Month.of(datetime.now(UTC))
    html = signed_in.get(f"/dpo/indicators?from={this}&to={this}").text
    due = (this.end + timedelta(hours=1)).isoformat()
    assert f'{this}</time>: will be computed after <time datetime="{due}"' in html
    assert "gateway monitoring aggregate" not in html


def test_suppressed_and_empty_are_explained_with_the_months_threshold(signed_in, computed):
    html = signed_in.get(f"/dpo/indicators?{PERIOD}").text
    assert "the figure concerns fewer than 5 persons" in html
    assert "It is not zero." in html
    assert "a median or a share needs at least one person" in html


def test_the_median_and_share_tables_have_their_value_column_before_any_month_is_computed(
    signed_in, seeded
):
    html = signed_in.get("/dpo/indicators").text
    for caption in (MEDIAN, SHARE):
        (found,) = [each for each in tables(html) if each["caption"] == caption]
        rows = found["rows"]
        assert isinstance(rows, list)
        assert rows[0] == ["Month", "All municipalities"]  # the value column
        assert all(row[1:] == ["pending"] for row in rows[1:])


def test_a_computed_month_fills_every_column_of_the_median_and_share_tables(signed_in, computed):
    html = signed_in.get(f"/dpo/indicators?{PERIOD}").text
    for caption in (MEDIAN, SHARE):
        (found,) = [each for each in tables(html) if each["caption"] == caption]
        header, *rows = found["rows"]  # type: ignore[misc]
        assert header[:2] == ["Month", "All municipalities"]
        march = dict((row[0], row[1:]) for row in rows)["2025-03"]
        assert len(march) == len(header) - 1
        assert "pending" not in march


def test_only_months_since_the_log_began_are_shown(signed_in, computed):
    html = signed_in.get("/dpo/indicators?from=2024-12&to=2025-03").text
    assert [row[0] for row in table(html, RECORDED)] == ["2025-03"]
    assert "The log began in" in html
    earlier = signed_in.get("/dpo/indicators?from=2024-01&to=2024-12").text
    assert "The log began in" in earlier
    assert RECORDED not in earlier.split("</form>")[1]  # no empty sections
