"""Group commit: concurrent units of work share transactions, yet each caller gets its own
result, its own error, and returns only once its writes are committed."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db.engine import Database, connect
from gateway.db.group import GroupCommit
from gateway.subjects.tables import Subject


@pytest.fixture
def database(database_url: str):
    database = connect(database_url)
    yield database
    database.dispose()


@pytest.fixture
def commits(database: Database):
    commits = GroupCommit(database)
    yield commits
    commits.close()


def _add_subject(session: Session) -> str:
    subject_id = str(uuid.uuid4())
    session.add(Subject(id=subject_id, created_at=datetime.now(UTC)))
    session.flush()
    return subject_id


def _stored(database: Database) -> set[str]:
    with database.transaction(read_only=True) as session:
        return set(session.scalars(select(Subject.id)))


class _Held:
    """A first unit that holds the committer until released, so the next ones queue up and
    are run together as one batch."""

    def __init__(self, commits: GroupCommit):
        self.running, self.release = threading.Event(), threading.Event()
        self.commits = commits

    def __call__(self, session: Session) -> str:
        self.running.set()
        assert self.release.wait(10)
        return _add_subject(session)


def _in_one_batch(commits: GroupCommit, units) -> list[object]:  # type: ignore[no-untyped-def]
    """Run ``units`` from threads so that they form one batch; each result or raised error."""
    held = _Held(commits)
    with ThreadPoolExecutor(len(units) + 1) as pool:
        first = pool.submit(commits.run, held)
        assert held.running.wait(10)
        futures = [pool.submit(commits.run, unit) for unit in units]
        while commits._queue.qsize() < len(units):  # all queued behind the held one
            threading.Event().wait(0.01)
        held.release.set()
        first.result(10)
        return [f.exception(10) or f.result(10) for f in futures]


def test_each_caller_gets_its_own_result_after_the_commit(commits, database):
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: commits.run(_add_subject), range(50)))
    assert len(set(ids)) == 50
    assert set(ids) <= _stored(database)


def test_units_queued_together_share_one_transaction(commits, database):
    transactions: list[int] = []

    def unit(session: Session) -> str:
        transactions.append(id(session))
        return _add_subject(session)

    results = _in_one_batch(commits, [unit] * 5)
    assert len(set(transactions)) == 1
    assert set(results) <= _stored(database)  # type: ignore[arg-type]


def test_a_failing_unit_fails_alone_and_leaves_no_writes(commits, database):
    written: list[str] = []

    def failing(session: Session) -> None:
        written.append(_add_subject(session))
        raise ValueError("this unit fails")

    results = _in_one_batch(commits, [_add_subject, failing, _add_subject])
    assert isinstance(results[1], ValueError)
    good = {results[0], results[2]}
    stored = _stored(database)
    assert good <= stored  # the others were run again on their own and committed
    assert not set(written) & stored  # nothing of the failing unit


def test_a_database_error_reaches_its_caller(commits, database):
    taken = commits.run(_add_subject)

    def duplicate(session: Session) -> None:
        session.add(Subject(id=taken, created_at=datetime.now(UTC)))
        session.flush()

    results = _in_one_batch(commits, [duplicate, _add_subject])
    assert isinstance(results[0], Exception)
    assert results[1] in _stored(database)
    with database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Subject)) == 3


def test_closing_finishes_queued_work_and_refuses_more(database):
    commits = GroupCommit(database)
    subject_id = commits.run(_add_subject)
    commits.close()
    assert subject_id in _stored(database)
    with pytest.raises(RuntimeError):
        commits.run(_add_subject)
