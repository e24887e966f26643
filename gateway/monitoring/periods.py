"""Calendar months (UTC): the unit every indicator is counted in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

# Years 2000 to 2999: enough for the gateway's life, and no date arithmetic can overflow.
PATTERN = r"^2\d{3}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(PATTERN)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Month:
        if not _MONTH.fullmatch(text):
            raise ValueError("a month is written YYYY-MM")
        year, number = text.split("-")
        return cls(int(year), int(number))

    @classmethod
    def of(cls, moment: datetime) -> Month:
        moment = moment.astimezone(UTC)
        return cls(moment.year, moment.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.number:02d}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.number, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the month."""
        return self.following().start

    def count_to(self, last: Month) -> int:
        """How many months from this one to ``last``, both included."""
        return (last.year - self.year) * 12 + last.number - self.number + 1

    def following(self) -> Month:
        return Month(self.year + self.number // 12, self.number % 12 + 1)

    def preceding(self) -> Month:
        return Month(self.year - (self.number == 1), (self.number - 2) % 12 + 1)

    def through(self, last: Month) -> list[Month]:
        """This month and every one after it up to ``last``, in order."""
        months = []
        month = self
        while month <= last:
            months.append(month)
            month = month.following()
        return months
