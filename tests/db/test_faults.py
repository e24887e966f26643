"""Which database errors say the database is unavailable (answered 503, logged once per
outage) and which are the transaction's own (a logged 500, or retried): told apart on real
errors of each driver, not on made-up ones."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import exc, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gateway.db.engine import Database, connect
from gateway.errors import DatabaseUnavailable
from gateway.subjects.tables import Subject
from tests.support import free_port, run_in_new_loop


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = connect(database_url)
    yield database
    database.dispose()


def test_a_sql_error_is_the_transactions_own(database: Database):
    with pytest.raises(exc.DBAPIError) as raised, database.transaction() as session:
        session.execute(text("SELEKT 1"))
    assert not isinstance(raised.value, DatabaseUnavailable)


def test_a_broken_constraint_is_the_transactions_own(database: Database):
    with pytest.raises(exc.IntegrityError), database.transaction() as session:
        session.execute(text("INSERT INTO subjects (id) VALUES (NULL)"))


def test_waiting_too_long_for_sqlites_write_lock_is_not_unavailability(database_url: str):
    if make_url(database_url).get_backend_name() != "sqlite":
        pytest.skip("SQLite's write lock")
    holder, impatient = connect(database_url), connect(database_url, busy_timeout=0.05)
    try:
        with holder.transaction() as session:
            session.execute(text("DELETE FROM audit_pending"))  # holds the write lock
            with (
                pytest.raises(exc.OperationalError, match="locked"),
                impatient.transaction() as waiting,
            ):
                waiting.connection()  # BEGIN IMMEDIATE: asks for the write lock
    finally:
        holder.dispose()
        impatient.dispose()


def test_a_deadlock_is_the_transactions_own(database_url: str):
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("SQLite has one writer at a time: no deadlock between two")
    first, second = connect(database_url), connect(database_url)
    with first.transaction() as session:
        session.add_all([Subject(id=name, created_at=datetime.now(UTC)) for name in ("s-1", "s-2")])
    both_hold_one = threading.Barrier(2, timeout=10)
    failures: list[BaseException] = []

    def lock(database: Database, order: tuple[str, str]) -> None:
        try:
            with database.transaction() as session:
                _touch(session, order[0])
                both_hold_one.wait()
                _touch(session, order[1])
        except exc.DBAPIError as error:
            failures.append(error)

    threads = [
        threading.Thread(target=lock, args=(first, ("s-1", "s-2"))),
        threading.Thread(target=lock, args=(second, ("s-2", "s-1"))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.dispose()
    second.dispose()

    assert len(failures) == 1
    assert not isinstance(failures[0], DatabaseUnavailable)
    assert type(failures[0].orig).__name__ == "DeadlockDetected"


def test_a_refused_connection_is_unavailability_on_every_path(database_url: str):
    """PostgreSQL's server gone: psycopg on the routes' path, asyncpg in the event loop."""
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("a SQLite file has no server to refuse")
    nowhere = make_url(database_url).set(host="127.0.0.1", port=free_port())
    database = connect(nowhere.render_as_string(hide_password=False))
    try:
        with pytest.raises(DatabaseUnavailable), database.transaction(read_only=True) as session:
            session.execute(text("SELECT 1"))

        async def in_the_loop() -> None:
            try:
                await database.run(
                    lambda session: session.execute(text("SELECT 1")), read_only=True
                )
            finally:
                await database.close_loop()

        with pytest.raises(DatabaseUnavailable):
            run_in_new_loop(in_the_loop)
    finally:
        database.dispose()


def test_a_sqlite_file_that_cannot_be_opened_is_unavailability(tmp_path):
    database = connect(f"sqlite:///{tmp_path / 'gone' / 'gateway.db'}")
    try:
        with pytest.raises(DatabaseUnavailable), database.transaction() as session:
            session.execute(text("SELECT 1"))
    finally:
        database.dispose()


def _touch(session: Session, subject: str) -> None:
    now = datetime.now(UTC)
    session.execute(update(Subject).where(Subject.id == subject).values(created_at=now))
