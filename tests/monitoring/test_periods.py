"""Months: written YYYY-MM, counted in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.monitoring.periods import Month


def test_a_month_reads_and_writes_as_yyyy_mm():
    assert str(Month.parse("2025-03")) == "2025-03"
    for bad in ("2025-3", "2025-13", "2025-00", "1999-12", "25-03", "2025-03-01", ""):
        with pytest.raises(ValueError, match="YYYY-MM"):
            Month.parse(bad)


def test_months_turn_over_at_the_year_and_at_utc_midnight():
    assert Month(2024, 12).following() == Month(2025, 1)
    assert Month(2025, 1).preceding() == Month(2024, 12)
    assert Month(2025, 2).end == datetime(2025, 3, 1, tzinfo=UTC)
    berlin_new_year = datetime(2025, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert Month.of(berlin_new_year) == Month(2024, 12)


def test_a_period_counts_both_ends():
    first, last = Month(2024, 11), Month(2025, 2)
    assert [str(m) for m in first.through(last)] == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert first.count_to(last) == 4
    assert last.through(first) == []
