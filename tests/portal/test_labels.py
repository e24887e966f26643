"""How the portal writes dates and times: in the person's language, in the deployment's time
zone and naming it, rounded up where a time says "from then on"; no date ends in a full stop of
its own (a sentence ending in it would show two)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.portal.labels import Reader
from gateway.web.i18n import LANGUAGES

BERLIN = ZoneInfo("Europe/Berlin")
# 23:30 UTC on 6 December is already the 7th in Berlin.
LATE = datetime(2027, 12, 6, 23, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_no_language_writes_a_date_ending_in_a_full_stop(code):
    day = Reader(LANGUAGES[code], BERLIN).day(LATE)
    assert not day.endswith("."), day
    assert "7" in day  # the local day, not UTC's


def test_ukrainian_dates_end_with_the_year():
    assert Reader(LANGUAGES["uk"], BERLIN).day(LATE) == "7 грудня 2027"


def test_times_name_the_time_zone_in_the_readers_language():
    german = Reader(LANGUAGES["de"], BERLIN).moment(LATE)
    assert german == "7. Dezember 2027, 00:30 (Mitteleuropäische Zeit)"
    assert Reader(LANGUAGES["en"], BERLIN).moment(LATE).endswith("(Central European Time)")
    assert Reader(LANGUAGES["ar"], BERLIN).moment(LATE).endswith("(توقيت وسط أوروبا)")


def test_another_deployments_zone_is_named_and_used():
    new_york = Reader(LANGUAGES["en"], ZoneInfo("America/New_York")).moment(LATE)
    assert "6:30" in new_york
    assert new_york.endswith("(Eastern Time)")
    assert Reader(LANGUAGES["de"], ZoneInfo("UTC")).moment(LATE).endswith("23:30 (UTC)")


def test_a_time_from_which_something_holds_is_rounded_up_to_the_minute():
    reader = Reader(LANGUAGES["de"], BERLIN)
    assert reader.minute_after(LATE) == "00:31 (Mitteleuropäische Zeit)"
    assert reader.minute_after(LATE.replace(second=0)) == "00:30 (Mitteleuropäische Zeit)"
