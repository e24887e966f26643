"""How the API writes days: a pattern for exactly the days the (Gregorian) calendar has, for
the OpenAPI document to state, so that a 30 February or a 29 February of 2023 is refused by the
document as it is by the server, not only by the server; and reading a moment given to search
by (the API's and the DPO pages' filters) as UTC."""

from __future__ import annotations

from datetime import UTC, datetime

# YYYY-MM-DD, years 1000 to 9999, for use inside a larger pattern. Months of 31 days, months
# of 30, February to the 28th; the 29th of February of years divisible by 4 (not ending in 00)
# and of centuries divisible by 400 (16, 20, 24 ... 96 hundred).
DAY = (
    r"(?:[1-9]\d{3}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8]))"
    r"|[1-9]\d(?:0[48]|[2468][048]|[13579][26])-02-29"
    r"|(?:[2468][048]|[13579][26])00-02-29)"
)


def utc_moment(text: str) -> datetime:
    """An ISO 8601 time as UTC; without an offset it is UTC already (as the CLI reads it).
    ValueError for what is not a time, or one that has no UTC equivalent in the calendar's
    range (the first hours of year 1 east of Greenwich, the last of 9999 west of it)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("outside the calendar's range in UTC") from None
