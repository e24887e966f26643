"""Sign-in throttling: failures are counted per code (or user name) and per address, each under
a keyed hash (no code, name or address is stored); too many within the lock-out period lock
that key until the period has passed. An address may fail four times as often as one code, as
several people may share it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from gateway.audit.keys import Pseudonymizer
from gateway.settings import Settings
from gateway.web.tables import LoginFailures

ADDRESS_FACTOR = 4


@dataclass(frozen=True)
class Attempt:
    """The keys one sign-in attempt is counted under, and each key's limit."""

    limits: dict[str, int]

    @classmethod
    def of(
        cls, keys: Pseudonymizer, settings: Settings, *, secret: str, address: str | None
    ) -> Attempt:
        limit = settings.login_max_failures
        limits = {_key(keys, "secret", secret): limit}
        if address:
            limits[_key(keys, "address", address)] = limit * ADDRESS_FACTOR
        return cls(limits)


def locked_until(session: Session, attempt: Attempt, now: datetime) -> datetime | None:
    """When the latest lock on any of the attempt's keys ends, if one holds now."""
    ends = [
        row.locked_until
        for row in _rows(session, attempt.limits)
        if row.locked_until is not None and row.locked_until > now
    ]
    return max(ends) if ends else None


def tries_left(session: Session, attempt: Attempt, settings: Settings, now: datetime) -> int:
    """How many more failures the attempt's keys allow before one of them locks: the fewest
    of any key counted in the current period (a key whose period has passed starts again)."""
    period = timedelta(minutes=settings.login_lockout_minutes)
    counted = {row.key: row for row in _rows(session, attempt.limits)}
    return min(
        limit
        - (counted[key].failures if key in counted and now - counted[key].first_at <= period else 0)
        for key, limit in attempt.limits.items()
    )


def failed(session: Session, attempt: Attempt, settings: Settings, now: datetime) -> None:
    period = timedelta(minutes=settings.login_lockout_minutes)
    for key, limit in attempt.limits.items():
        row = session.get(LoginFailures, key, with_for_update=True)
        if row is None:
            row = LoginFailures(key=key, failures=0, first_at=now, locked_until=None)
            session.add(row)
        elif now - row.first_at > period:
            row.failures, row.first_at, row.locked_until = 0, now, None
        row.failures += 1
        if row.failures >= limit:
            row.locked_until = now + period
    session.flush()


def succeeded(session: Session, attempt: Attempt) -> None:
    """A right code (or password) clears its own count, not the address's."""
    first = next(iter(attempt.limits))
    row = session.get(LoginFailures, first)
    if row is not None:
        session.delete(row)
        session.flush()


def _rows(session: Session, keys: Iterable[str]) -> list[LoginFailures]:
    return [row for key in keys if (row := session.get(LoginFailures, key)) is not None]


def _key(keys: Pseudonymizer, kind: str, value: str) -> str:
    # The pseudonym key is a keyed hash already kept out of the database; the prefix keeps
    # these apart from subject pseudonyms.
    return keys.pseudonym(f"sign-in:{kind}:{value}")[-64:]
