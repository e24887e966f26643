"""The document's pattern for days admits exactly the days the calendar has."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.dates import DAY

WHOLE_DAY = re.compile(rf"^{DAY}$")


@given(st.integers(1000, 9999), st.integers(0, 13), st.integers(0, 32))
def test_the_pattern_admits_a_day_exactly_when_the_calendar_has_it(year, month, day):
    text = f"{year:04d}-{month:02d}-{day:02d}"
    try:
        date.fromisoformat(text)
        exists = True
    except ValueError:
        exists = False
    assert bool(WHOLE_DAY.match(text)) == exists, text


@pytest.mark.parametrize(
    ("text", "exists"),
    [
        ("2024-02-29", True),  # divisible by 4
        ("2023-02-29", False),
        ("1900-02-29", False),  # a century not divisible by 400
        ("2000-02-29", True),
        ("1600-02-29", True),
        ("2027-02-30", False),
        ("2027-04-31", False),
        ("2027-12-31", True),
        ("0999-01-01", False),  # the API's years have four digits, the first not 0
    ],
)
def test_leap_days_and_month_ends(text: str, exists: bool):
    assert bool(WHOLE_DAY.match(text)) == exists


def test_the_document_refuses_a_30_february_where_the_server_does(http):
    """schemathesis sent 2713-02-30 as an audit time and a consent's date: the document allowed
    it, the server refused it (422)."""
    document = http.get("/openapi.json").json()
    consent = document["components"]["schemas"]["ConsentIn"]["properties"]
    entries = document["paths"]["/v1/audit/entries"]["get"]["parameters"]
    since = next(parameter for parameter in entries if parameter["name"] == "since")
    patterns = [
        consent["valid_from"]["pattern"],
        consent["valid_until"]["pattern"],
        since["schema"]["anyOf"][0]["pattern"],
    ]
    for pattern in patterns:
        assert re.match(pattern, "2027-02-28T10:00:00+01:00")
        assert not re.match(pattern, "2027-02-30T10:00:00+01:00")
