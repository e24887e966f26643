"""A time in the audit page's filters that has no UTC equivalent in the calendar's range (the
first hours of year 1 east of Greenwich, the last of 9999 west of it) is refused like any
time that is not one (422), on the page and its downloads, never a 500. Found in a review."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("since", ["0001-01-01T00:00+01:00", "9999-12-31T23:30-01:00"])
@pytest.mark.parametrize("path", ["/dpo/audit", "/dpo/audit/export"])
def test_a_time_outside_the_calendar_in_utc_is_refused_like_any_bad_time(
    signed_in: TestClient, path: str, since: str
):
    not_a_time = signed_in.get(path, params={"since": "yesterday", "format": "csv"})
    response = signed_in.get(path, params={"since": since, "format": "csv"})
    assert response.status_code == not_a_time.status_code == 422
