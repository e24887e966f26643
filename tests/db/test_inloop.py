"""Transactions run from the event loop (``Database.run``): committed or rolled back like any
other, and a writer that must wait for another transaction waits without stopping the loop,
for that other transaction may need the loop to finish (a route's session commits in a step
the loop schedules)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import exc, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gateway.db.engine import Database, connect, make_engine
from gateway.db.inloop import InProcess
from gateway.subjects.tables import Subject
from tests.support import run_in_new_loop

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def database(database_url: str):
    database = connect(database_url)
    with database.transaction() as session:
        session.add(Subject(id="s-1", created_at=CREATED))
    yield database
    database.dispose()


def _in_loop(database: Database, test: Callable[[], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        try:
            return await test()
        finally:
            await database.close_loop()

    return run_in_new_loop(main)


def _created(database: Database) -> datetime:
    with database.transaction(read_only=True) as session:
        subject = session.get(Subject, "s-1")
        assert subject is not None
        return subject.created_at


def _move(days: int) -> Callable[[Session], int]:
    def work(session: Session) -> int:
        moved = session.execute(
            update(Subject)
            .where(Subject.id == "s-1")
            .values(created_at=CREATED + timedelta(days=days))
        )
        return int(moved.rowcount)  # type: ignore[attr-defined]

    return work


def test_work_is_committed_and_returns_its_result(database):
    assert _in_loop(database, lambda: database.run(_move(1))) == 1
    assert _created(database) == CREATED + timedelta(days=1)


def test_read_only_work_cannot_write(database):
    """Refused at once by the database (SQLite's query_only, PostgreSQL's read-only
    transactions), not after a wait for the write lock, and nothing is written."""
    with pytest.raises(exc.DBAPIError, match=r"read-?only"):
        _in_loop(database, lambda: database.run(_move(3), read_only=True))
    assert _created(database) == CREATED


def test_work_that_raises_leaves_nothing(database):
    def failing(session: Session) -> None:
        _move(2)(session)
        raise ValueError("this work fails")

    with pytest.raises(ValueError, match="this work fails"):
        _in_loop(database, lambda: database.run(failing))
    assert _created(database) == CREATED


def test_a_writer_waits_for_another_transaction_without_stopping_the_loop(database):
    """The other transaction holds the lock until a coroutine in the loop lets it go: if the
    waiting writer stopped the loop, that coroutine could never run, and both would wait."""
    holding, release = threading.Event(), threading.Event()
    let_go: list[bool] = []

    def other_transaction() -> None:
        with database.transaction() as session:
            _move(5)(session)  # the write lock (SQLite) or the row's lock (PostgreSQL)
            holding.set()
            # Let go after a while regardless, so that a stopped loop fails this test
            # instead of hanging it (SQLite's busy timeout is longer).
            let_go.append(release.wait(5))

    async def test() -> list[str]:
        other = threading.Thread(target=other_transaction)
        other.start()
        assert await asyncio.to_thread(holding.wait, 10)
        order: list[str] = []

        async def writer() -> None:
            await database.run(_move(7))
            order.append("written")

        waiting = asyncio.ensure_future(writer())
        await asyncio.sleep(0.2)  # the writer is waiting now, and the loop still runs this
        order.append("released")
        release.set()
        await waiting
        await asyncio.to_thread(other.join)
        return order

    assert _in_loop(database, test) == ["released", "written"]
    assert let_go == [True]
    assert _created(database) == CREATED + timedelta(days=7)


def test_a_sqlite_writer_gives_up_when_the_lock_stays_taken(database, database_url):
    if make_url(database_url).get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL's lock waits are the server's (lock_timeout)")
    impatient = InProcess(
        reads=database.engine, writes=make_engine(database_url, busy_timeout=0), patience=0.3
    )
    with database.transaction() as session:
        _move(5)(session)  # holds the write lock throughout

        async def write() -> int:
            return await impatient.run(_move(7), read_only=False)

        with pytest.raises(exc.OperationalError, match="database is locked"):
            run_in_new_loop(write)
    assert _created(database) == CREATED + timedelta(days=5)


def test_on_postgresql_a_read_only_unit_runs_without_a_transaction(database, database_url):
    """No BEGIN and COMMIT round trips for the decision's reads: each statement is its own
    transaction (as each has its own snapshot at READ COMMITTED anyway)."""
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("SQLite's reads run in a transaction of the process")

    def two_moments(session: Session) -> tuple[datetime, datetime]:
        now = text("SELECT now()")  # the start of the statement's transaction
        return session.execute(now).scalar_one(), session.execute(now).scalar_one()

    async def test() -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
        reading = await database.run(two_moments, read_only=True)
        writing = await database.run(two_moments)
        return reading, writing

    reading, writing = _in_loop(database, test)
    assert reading[0] != reading[1]  # now() is each statement's own start
    assert writing[0] == writing[1]  # now() is the transaction's start


def test_postgresql_connection_parameters_of_the_url_reach_the_loops_connections(database_url):
    """The exchange path connects with asyncpg, from the same URL as the rest: libpq's
    parameters are taken (connect_timeout translated, TCP keepalives left to psycopg)."""
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("SQLite's URL has no connection parameters")
    url = make_url(database_url).update_query_dict(
        {
            "sslmode": "disable",
            "application_name": "gateway-inloop-test",
            "connect_timeout": "5",
            "keepalives": "1",
        }
    )
    database = connect(url.render_as_string(hide_password=False))

    def application_name(session: Session) -> str:
        return str(session.execute(text("SHOW application_name")).scalar_one())

    async def test() -> tuple[str, str]:
        return (
            await database.run(application_name, read_only=True),
            await database.run(application_name),
        )

    try:
        assert _in_loop(database, test) == ("gateway-inloop-test", "gateway-inloop-test")
    finally:
        database.dispose()
