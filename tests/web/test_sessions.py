"""Page sessions: only the token's hash is stored; they end when idle too long, too old, or
signed out; a session of one realm is no session of the other; CSRF tokens are compared."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.web import sessions
from gateway.web.sessions import FormExpired, Realm
from gateway.web.tables import WebSession

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def started(database):
    with database.transaction() as session:
        token, page_session = sessions.start(session, Realm.PORTAL, "consent-1", NOW)
    return token, page_session


def _current(database, settings, token, at, realm=Realm.PORTAL):
    with database.transaction() as session:
        return sessions.current(session, realm, token, settings, at)


def test_only_the_tokens_hash_is_stored(database, started):
    token, _ = started
    with database.transaction(read_only=True) as session:
        stored = session.scalars(select(WebSession.token_hash)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored


def test_a_live_session_is_found_and_kept_alive(database, settings, started):
    token, page_session = started
    later = NOW + timedelta(minutes=settings.session_idle_minutes - 1)
    assert _current(database, settings, token, later) == page_session
    # Used a moment ago, so still alive well past the first idle limit.
    again = later + timedelta(minutes=settings.session_idle_minutes - 1)
    assert _current(database, settings, token, again) == page_session


def test_an_idle_session_ends(database, settings, started):
    token, _ = started
    idle = NOW + timedelta(minutes=settings.session_idle_minutes, seconds=1)
    assert _current(database, settings, token, idle) is None
    assert _current(database, settings, token, NOW) is None  # removed, not just refused


def test_a_session_ends_at_its_maximum_age_however_busy(database, settings, started):
    token, _ = started
    moment = NOW
    while moment < NOW + timedelta(hours=settings.session_max_hours):
        assert _current(database, settings, token, moment) is not None
        moment += timedelta(minutes=settings.session_idle_minutes - 1)
    assert _current(database, settings, token, moment) is None


def test_a_session_of_one_realm_is_none_of_the_other(database, settings, started):
    token, _ = started
    assert _current(database, settings, token, NOW, realm=Realm.DPO) is None


@pytest.mark.parametrize("token", [None, "", "x" * 101, "unknown-token"])
def test_no_or_unknown_tokens_are_no_session(database, settings, started, token):
    assert _current(database, settings, token, NOW) is None


def test_signing_out_ends_the_session(database, settings, started):
    token, page_session = started
    with database.transaction() as session:
        sessions.end(session, page_session)
    assert _current(database, settings, token, NOW) is None


def test_all_sessions_of_a_principal_can_be_ended(database, settings):
    with database.transaction() as session:
        first, _ = sessions.start(session, Realm.DPO, "anna", NOW)
        second, _ = sessions.start(session, Realm.DPO, "anna", NOW)
        other, _ = sessions.start(session, Realm.DPO, "ben", NOW)
        sessions.end_all_for(session, Realm.DPO, "anna")
    assert _current(database, settings, first, NOW, Realm.DPO) is None
    assert _current(database, settings, second, NOW, Realm.DPO) is None
    assert _current(database, settings, other, NOW, Realm.DPO) is not None


@pytest.mark.parametrize(
    ("expected", "submitted"), [("a" * 43, None), ("a" * 43, ""), ("a" * 43, "b" * 43), (None, "x")]
)
def test_a_missing_or_wrong_csrf_token_is_refused(expected, submitted):
    with pytest.raises(FormExpired):
        sessions.check_csrf(expected, submitted)


def test_the_right_csrf_token_passes():
    sessions.check_csrf("a" * 43, "a" * 43)


def test_the_sweep_removes_idle_sessions_only(database, settings):
    now = datetime.now(UTC)
    with database.transaction() as session:
        sessions.start(session, Realm.PORTAL, "idle", now - timedelta(hours=1))
        sessions.start(session, Realm.PORTAL, "busy", now)
    assert sessions.sweep(database, settings) == 1
    with database.transaction(read_only=True) as session:
        assert session.scalars(select(WebSession.principal)).all() == ["busy"]
