"""Group commit: the short write transactions of many concurrent requests share one commit.

A request in the event loop hands its unit of work (a function of a session) to the
committer and awaits it. The committer takes every unit queued at that moment, runs them in
order in one transaction (``Database.run``) and commits, then gives each request its own
result. Each request still returns only after its own writes are durable; what is shared is
the transaction's fixed cost (the write lock, the commit), which dominates short writes. While
one batch is committing (on PostgreSQL the loop serves other requests meanwhile), the units
that arrive queue up for the next.

A unit of work must touch nothing but the session it is given, so it can run again: if any
unit of a batch raises, or the commit fails (a deadlock between processes, a lost
connection), the batch is rolled back and each unit runs again in a transaction of its own,
where its error is its alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from gateway.db.engine import Database
from gateway.errors import DatabaseUnavailable
from gateway.loops import PerLoop

T = TypeVar("T")
logger = logging.getLogger(__name__)

MAX_BATCH = 100


@dataclass
class _Unit(Generic[T]):
    work: Callable[[Session], T]
    done: asyncio.Future[T]


@dataclass
class _Queue:
    """One loop's units waiting for the committer, and whether it is at work."""

    waiting: deque[_Unit[Any]] = field(default_factory=deque)
    committer: asyncio.Task[None] | None = None


class GroupCommit:
    def __init__(self, database: Database, max_batch: int = MAX_BATCH):
        self._database = database
        self._max_batch = max_batch
        self._queues: PerLoop[_Queue] = PerLoop(_Queue, _finish)

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a transaction shared with other units; return its result once
        that transaction has committed (or raise what the work, or the commit, raised)."""
        queue = self._queues.get()
        unit: _Unit[T] = _Unit(work, asyncio.get_running_loop().create_future())
        queue.waiting.append(unit)
        if queue.committer is None:
            # Started as a task, not run here: the units of requests that are ready in this
            # turn of the loop join the batch before it begins.
            queue.committer = asyncio.create_task(self._commit_all(queue))
        return await unit.done

    async def close(self) -> None:
        """Finish the running loop's queued units."""
        await self._queues.close()

    async def _commit_all(self, queue: _Queue) -> None:
        try:
            while queue.waiting:
                size = min(len(queue.waiting), self._max_batch)
                batch = [queue.waiting.popleft() for _ in range(size)]
                try:
                    await self._commit(batch)
                except Exception as error:  # a fault of the committer's own: its units fail
                    logger.error("the group committer failed", exc_info=True)
                    for unit in batch:
                        _settle(unit, error=error)
                finally:
                    for unit in batch:  # all settled by now, unless the committer was cancelled
                        unit.done.cancel()
        finally:
            queue.committer = None
            while queue.waiting:
                queue.waiting.popleft().done.cancel()

    async def _commit(self, batch: list[_Unit[Any]]) -> None:
        if len(batch) == 1:
            await self._alone(batch[0])
            return
        try:
            results = await self._database.run(lambda session: [u.work(session) for u in batch])
        except Exception as error:
            if not isinstance(error, DatabaseUnavailable):  # logged once per outage already
                logger.warning("group commit failed; running its units one by one")
            for unit in batch:
                await self._alone(unit)
            return
        for unit, result in zip(batch, results, strict=True):
            _settle(unit, result=result)

    async def _alone(self, unit: _Unit[Any]) -> None:
        try:
            result = await self._database.run(unit.work)
        except Exception as error:  # handed to the waiting request, which raises it
            _settle(unit, error=error)
        else:
            _settle(unit, result=result)


def _settle(unit: _Unit[Any], *, result: Any = None, error: Exception | None = None) -> None:
    if unit.done.done():  # its request was cancelled meanwhile; the writes stand
        return
    if error is not None:
        unit.done.set_exception(error)
    else:
        unit.done.set_result(result)


async def _finish(queue: _Queue) -> None:
    # Units handed over meanwhile are committed too: the committer runs until none waits,
    # or a new one starts.
    while queue.committer is not None:
        await queue.committer
