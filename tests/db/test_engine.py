"""Pooled connections: kept open between bursts up to the configured pool size; on PostgreSQL
checked for life only after they rested, so a busy gateway pays no extra round trip per
transaction, and one the server closed meanwhile is replaced before a request sees it."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from gateway.db.engine import Database, connect


@pytest.fixture
def pooled(database_url: str):
    if make_url(database_url).get_backend_name() == "sqlite":
        pytest.skip("a SQLite file has no server to lose the connection")
    name = f"gateway-test-{uuid.uuid4().hex[:12]}"
    database = connect(database_url, ping_after_idle=0.2, connect_args={"application_name": name})
    yield database, name
    database.dispose()


def _backend(database: Database) -> int:
    with database.transaction(read_only=True) as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(database_url: str, name: str) -> None:
    """Close the pool's connections from the server's side, as a restart would."""
    other = connect(database_url)
    try:
        with other.transaction() as session:
            closed = session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :name"
                ),
                {"name": name},
            ).all()
        assert closed, "the pool held no connection to close"
    finally:
        other.dispose()
    time.sleep(0.1)  # the server has closed them when it answers; the sockets follow


def test_a_connection_closed_while_resting_is_replaced_before_use(pooled, database_url):
    database, name = pooled
    first = _backend(database)
    _terminate(database_url, name)
    time.sleep(0.3)  # longer than ping_after_idle

    assert _backend(database) != first  # answered, by a new connection


def test_a_busy_connection_is_not_pinged(pooled, monkeypatch):
    database, _ = pooled
    pings = []
    real_ping = database.engine.dialect.do_ping

    def counting(dbapi_connection):
        pings.append(1)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(database.engine.dialect, "do_ping", counting)
    for _ in range(5):
        _backend(database)
    assert pings == []

    time.sleep(0.3)
    _backend(database)
    assert pings == [1]


def test_a_burst_of_concurrent_requests_reuses_the_pools_connections(runtime):
    """Up to the configured pool size, connections stay open between bursts: opening one
    costs far more than a query (on PostgreSQL, a new server process)."""
    database = runtime.database
    opened = []
    event.listen(database.engine, "connect", lambda *_: opened.append(1))
    concurrent = 12  # more than SQLAlchemy's default pool of 5, fewer than the default 20
    together = threading.Barrier(concurrent)

    def hold_a_connection(_: int) -> None:
        with database.transaction(read_only=True) as session:
            session.execute(text("SELECT 1"))
            together.wait(timeout=10)

    with ThreadPoolExecutor(concurrent) as pool:
        list(pool.map(hold_a_connection, range(concurrent)))
        first_burst = len(opened)
        list(pool.map(hold_a_connection, range(concurrent)))

    assert first_burst >= 1
    assert len(opened) == first_burst  # the second burst opened none


def test_the_suite_refuses_a_write_in_a_read_only_transaction(runtime):
    """The guard of tests/conftest.py: a read-only transaction that writes fails the test."""
    with (
        pytest.raises(AssertionError, match="read-only"),
        runtime.database.transaction(read_only=True) as session,
    ):
        session.execute(text("DELETE FROM audit_pending"))
