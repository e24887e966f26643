"""Failed sign-ins lock a code (or user name) after the limit, an address after four times as
many; a lock lasts the lock-out period; nothing readable is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from gateway.web import throttle
from gateway.web.tables import LoginFailures

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _attempt(runtime, settings, secret, address="192.0.2.7"):
    return throttle.Attempt.of(
        runtime.audit.pseudonymizer, settings, secret=secret, address=address
    )


def _fail(database, settings, attempt, times, at=NOW):
    with database.transaction() as session:
        for _ in range(times):
            throttle.failed(session, attempt, settings, at)


def _locked(database, attempt, at=NOW):
    with database.transaction(read_only=True) as session:
        return throttle.locked_until(session, attempt, at)


def test_a_code_is_locked_after_the_limit_for_the_lockout_period(runtime, settings, database):
    attempt = _attempt(runtime, settings, "CODE-1")
    _fail(database, settings, attempt, settings.login_max_failures - 1)
    assert _locked(database, attempt) is None
    _fail(database, settings, attempt, 1)
    until = _locked(database, attempt)
    assert until == NOW + timedelta(minutes=settings.login_lockout_minutes)
    assert _locked(database, attempt, until + timedelta(seconds=1)) is None


def test_an_address_is_locked_after_four_times_as_many_failures(runtime, settings, database):
    limit = settings.login_max_failures
    for n in range(limit * throttle.ADDRESS_FACTOR - 1):
        _fail(database, settings, _attempt(runtime, settings, f"CODE-{n}"), 1)
    fresh = _attempt(runtime, settings, "CODE-NEW")
    assert _locked(database, fresh) is None
    _fail(database, settings, fresh, 1)
    assert _locked(database, _attempt(runtime, settings, "ANOTHER")) is not None
    assert _locked(database, _attempt(runtime, settings, "ANOTHER", "198.51.100.1")) is None


def test_old_failures_are_forgotten_after_the_period(runtime, settings, database):
    attempt = _attempt(runtime, settings, "CODE-1")
    _fail(database, settings, attempt, settings.login_max_failures - 1)
    later = NOW + timedelta(minutes=settings.login_lockout_minutes + 1)
    _fail(database, settings, attempt, 1, at=later)
    assert _locked(database, attempt, later) is None


def test_success_clears_the_codes_count_but_not_the_addresss(runtime, settings, database):
    attempt = _attempt(runtime, settings, "CODE-1")
    _fail(database, settings, attempt, settings.login_max_failures - 1)
    with database.transaction() as session:
        throttle.succeeded(session, attempt)
    _fail(database, settings, attempt, settings.login_max_failures - 1)
    assert _locked(database, attempt) is None
    with database.transaction(read_only=True) as session:
        counts = sorted(session.scalars(select(LoginFailures.failures)))
    assert counts == [settings.login_max_failures - 1, 2 * (settings.login_max_failures - 1)]


def test_no_code_or_address_is_stored_readably(runtime, settings, database):
    _fail(database, settings, _attempt(runtime, settings, "ABCDE-FGHIJ"), 1)
    with database.transaction(read_only=True) as session:
        keys = session.scalars(select(LoginFailures.key)).all()
    assert len(keys) == 2
    assert not any("ABCDE" in key or "192.0.2.7" in key for key in keys)
