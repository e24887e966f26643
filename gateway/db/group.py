"""Group commit: the short write transactions of many concurrent requests share one commit.

A request hands its unit of work (a function of a session) to the process's committer and
waits. One committer thread takes every unit queued at that moment, runs them in order in one
transaction and commits, then wakes each request with its own result. Each request still
returns only after its own writes are durable; what is shared is the transaction's fixed cost
(taking the write lock, the commit's flush to disk), which dominates short writes.

A unit of work must touch nothing but the session it is given, so it can run again: if any
unit of a batch raises, or the commit fails (a deadlock between processes, a lost
connection), the batch is rolled back and each unit runs again in a transaction of its own,
where its error is its alone.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from gateway.db.engine import Database

T = TypeVar("T")
logger = logging.getLogger(__name__)

MAX_BATCH = 100


@dataclass
class _Unit(Generic[T]):
    work: Callable[[Session], T]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class _Stop:
    pass


class GroupCommit:
    def __init__(self, database: Database, max_batch: int = MAX_BATCH):
        self._database = database
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Unit[Any] | _Stop] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a transaction shared with other units; return its result once
        that transaction has committed (or raise what the work, or the commit, raised)."""
        unit: _Unit[T] = _Unit(work)
        self._start()
        self._queue.put(unit)
        unit.done.wait()
        if unit.error is not None:
            raise unit.error
        return unit.result

    def close(self) -> None:
        """Finish the queued units and stop the committer thread."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_Stop())
            thread.join()

    def _start(self) -> None:
        # Started on first use, not at construction: a runtime may be created before the
        # server forks its workers, and threads do not survive a fork.
        with self._lock:
            if self._closed:
                raise RuntimeError("the committer is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="group-commit", daemon=True
                )
                self._thread.start()

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if isinstance(first, _Stop):
                return
            batch: list[_Unit[Any]] = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Stop):
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Unit[Any]]) -> None:
        try:
            if len(batch) == 1:
                self._alone(batch[0])
                return
            try:
                results = []
                with self._database.transaction() as session:
                    for unit in batch:
                        results.append(unit.work(session))
            except Exception:
                logger.warning("group commit failed; running its units one by one")
                for unit in batch:
                    self._alone(unit)
                return
            for unit, result in zip(batch, results, strict=True):
                unit.result = result
        finally:
            for unit in batch:
                unit.done.set()

    def _alone(self, unit: _Unit[Any]) -> None:
        try:
            with self._database.transaction() as session:
                unit.result = unit.work(session)
        except BaseException as error:  # handed to the waiting request, which raises it
            unit.error = error
