"""Group commit: concurrent units of work share transactions, yet each caller gets its own
result, its own error, and returns only once its writes are committed."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gateway.db.engine import Database, connect
from gateway.db.group import GroupCommit
from gateway.subjects.tables import Subject
from tests.support import run_in_new_loop


@pytest.fixture
def database(database_url: str):
    database = connect(database_url)
    yield database
    database.dispose()


def _in_loop(database: Database, test: Callable[[GroupCommit], Awaitable[Any]]) -> Any:
    """Run ``test`` in an event loop of its own, as a gateway worker runs the committer."""

    async def main() -> Any:
        commits = GroupCommit(database)
        try:
            return await test(commits)
        finally:
            await commits.close()
            await database.close_loop()

    return run_in_new_loop(main)


def _add_subject(session: Session) -> str:
    subject_id = str(uuid.uuid4())
    session.add(Subject(id=subject_id, created_at=datetime.now(UTC)))
    session.flush()
    return subject_id


def _stored(database: Database) -> set[str]:
    with database.transaction(read_only=True) as session:
        return set(session.scalars(select(Subject.id)))


_sessions = itertools.count()


def _counting(transactions: list[int], work: Callable[[Session], Any]) -> Callable[[Session], Any]:
    """``work``, noting which transaction it ran in (ids of dead sessions are reused)."""

    def unit(session: Session) -> Any:
        transactions.append(session.info.setdefault("number", next(_sessions)))
        return work(session)

    return unit


async def _together(commits: GroupCommit, units: list[Callable[[Session], Any]]) -> list[Any]:
    """Hand ``units`` over in one turn of the loop, as requests that are ready together do;
    each one's result or raised error."""
    return await asyncio.gather(*(commits.run(unit) for unit in units), return_exceptions=True)


def test_each_caller_gets_its_own_result_after_the_commit(database):
    async def test(commits: GroupCommit) -> list[str]:
        return await _together(commits, [_add_subject] * 50)

    ids = _in_loop(database, test)
    assert len(set(ids)) == 50
    assert set(ids) <= _stored(database)


def test_units_handed_over_together_share_one_transaction(database):
    transactions: list[int] = []

    async def test(commits: GroupCommit) -> list[str]:
        return await _together(commits, [_counting(transactions, _add_subject)] * 5)

    results = _in_loop(database, test)
    assert len(transactions) == 5
    assert len(set(transactions)) == 1
    assert set(results) <= _stored(database)


def test_units_arriving_during_a_commit_form_the_next_batch(database, database_url):
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("a SQLite batch runs without giving the loop a turn: nothing arrives")
    transactions: list[int] = []
    later: list[asyncio.Task[Any]] = []

    def first(session: Session) -> str:
        # Requests that become ready while this batch runs queue for the next one.
        later.extend(
            asyncio.ensure_future(commits_of[0].run(_counting(transactions, _add_subject)))
            for _ in range(3)
        )
        return _add_subject(session)

    commits_of: list[GroupCommit] = []

    async def test(commits: GroupCommit) -> list[Any]:
        commits_of.append(commits)
        await commits.run(first)
        return list(await asyncio.gather(*later))

    results = _in_loop(database, test)
    assert len(results) == 3
    assert len(set(transactions)) == 1
    assert set(results) <= _stored(database)


def test_a_batch_is_at_most_max_batch_units(database):
    transactions: list[int] = []

    async def test(commits: GroupCommit) -> list[str]:
        small = GroupCommit(database, max_batch=4)
        try:
            return await _together(small, [_counting(transactions, _add_subject)] * 10)
        finally:
            await small.close()

    results = _in_loop(database, test)
    assert len(set(results)) == 10
    assert sorted(transactions.count(t) for t in set(transactions)) == [2, 4, 4]


def test_a_failing_unit_fails_alone_and_leaves_no_writes(database):
    written: list[str] = []

    def failing(session: Session) -> None:
        written.append(_add_subject(session))
        raise ValueError("this unit fails")

    async def test(commits: GroupCommit) -> list[Any]:
        return await _together(commits, [_add_subject, failing, _add_subject])

    results = _in_loop(database, test)
    assert isinstance(results[1], ValueError)
    good = {results[0], results[2]}
    stored = _stored(database)
    assert good <= stored  # the others were run again on their own and committed
    assert not set(written) & stored  # nothing of the failing unit


def test_a_database_error_reaches_its_caller(database):
    async def test(commits: GroupCommit) -> list[Any]:
        taken = await commits.run(_add_subject)

        def duplicate(session: Session) -> None:
            session.add(Subject(id=taken, created_at=datetime.now(UTC)))
            session.flush()

        return await _together(commits, [duplicate, _add_subject])

    results = _in_loop(database, test)
    assert isinstance(results[0], Exception)
    assert results[1] in _stored(database)
    with database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Subject)) == 2


def test_closing_finishes_the_queued_units(database):
    async def test(commits: GroupCommit) -> list[asyncio.Task[str]]:
        queued = [asyncio.ensure_future(commits.run(_add_subject)) for _ in range(3)]
        await asyncio.sleep(0)  # handed over; the committer has not run them yet
        await commits.close()
        assert all(task.done() for task in queued)
        return queued

    queued = _in_loop(database, test)
    assert {task.result() for task in queued} <= _stored(database)


def test_a_cancelled_caller_does_not_disturb_the_others(database):
    async def test(commits: GroupCommit) -> list[Any]:
        waiting = [asyncio.ensure_future(commits.run(_add_subject)) for _ in range(3)]
        await asyncio.sleep(0)
        waiting[1].cancel()
        return await asyncio.gather(*waiting, return_exceptions=True)

    results = _in_loop(database, test)
    assert isinstance(results[1], asyncio.CancelledError)
    assert {results[0], results[2]} <= _stored(database)


def test_a_fault_of_the_committer_fails_its_units_and_the_next_ones_still_commit(
    database, monkeypatch
):
    faulty = {"left": 1}
    commit = GroupCommit._commit

    async def failing_once(self, batch):  # type: ignore[no-untyped-def]
        if faulty["left"]:
            faulty["left"] -= 1
            raise RuntimeError("the committer's own fault")
        await commit(self, batch)

    monkeypatch.setattr(GroupCommit, "_commit", failing_once)

    async def test(commits: GroupCommit) -> tuple[list[Any], str]:
        failed = await _together(commits, [_add_subject] * 2)
        return failed, await commits.run(_add_subject)

    failed, later = _in_loop(database, test)
    assert [type(error) for error in failed] == [RuntimeError, RuntimeError]  # not cancelled
    assert _stored(database) == {later}
