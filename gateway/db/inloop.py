"""Transactions for code running in the event loop, without a worker thread.

The exchange path runs in the event loop: a hand-off to a worker thread, and every wait for the
interpreter lock that many busy threads cause, is a context switch, and a query made that way
paid about a hundred of them (~13 µs each on this machine kind), more than its statements cost.
Its transactions run in the loop too, each the same synchronous function of a ``Session`` that
the rest of the gateway runs on worker threads:

- SQLite (``InProcess``) lives in this process and answers in microseconds, so ``work`` runs
  right in the loop, and a read never waits (WAL). A writer must not wait for the write lock
  inside the loop, though: the lock may be held by a route's transaction that needs the loop to
  finish (a request's session commits in a step the loop schedules), and the two would wait for
  each other. So the loop asks for the lock without waiting and, while another writer holds it,
  awaits a moment and asks again.
- PostgreSQL (``Awaited``) is a server: its round trips are awaited over asyncpg connections,
  so the loop serves other requests meanwhile (``AsyncSession.run_sync`` runs the synchronous
  ``work`` on them; the rest of the gateway uses psycopg).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, sessionmaker

from gateway.loops import PerLoop

T = TypeVar("T")

FIRST_PAUSE = 0.0005  # seconds; doubled after each busy attempt ...
LONGEST_PAUSE = 0.02  # ... up to this


class InLoop(Protocol):
    async def run(self, work: Callable[[Session], T], *, read_only: bool) -> T: ...

    async def close(self) -> None:
        """Close the running loop's connections."""

    def dispose(self) -> None:
        """Forget connections of loops that are gone."""


class InProcess:
    """SQLite, in the loop itself, on connections of the loop's own."""

    def __init__(self, *, reads: Engine, writes: Engine, patience: float):
        self._engines = (reads, writes)
        self._reads = sessionmaker(reads, expire_on_commit=False)
        self._writes = sessionmaker(writes, expire_on_commit=False)  # never wait for the lock
        self._patience = patience

    async def run(self, work: Callable[[Session], T], *, read_only: bool) -> T:
        if read_only:
            with self._reads.begin() as session:
                return work(session)
        deadline = time.monotonic() + self._patience
        pause = FIRST_PAUSE
        while True:
            try:
                with self._writes.begin() as session:
                    _take_write_lock(session, last_try=time.monotonic() >= deadline)
                    return work(session)
            except _Busy:
                await asyncio.sleep(pause)
                pause = min(2 * pause, LONGEST_PAUSE)

    async def close(self) -> None:
        """Nothing is the loop's own here: SQLite connections serve any loop, and ``dispose``
        closes them with the database."""

    def dispose(self) -> None:
        for engine in self._engines:
            engine.dispose()


class _Busy(Exception):
    pass


def _take_write_lock(session: Session, *, last_try: bool) -> None:
    """Begin the transaction (``BEGIN IMMEDIATE``, see ``gateway.db.engine``); ``_Busy`` if
    another writer holds the lock, or its error if that has lasted too long."""
    try:
        session.connection()
    except OperationalError as error:
        code = getattr(error.orig, "sqlite_errorcode", 0)
        busy = code & 0xFF == sqlite3.SQLITE_BUSY  # or one of its extended codes
        if busy and not last_try:
            raise _Busy from None
        raise


@dataclass(frozen=True)
class LoopEngines:
    """One loop's PostgreSQL pools."""

    reading: AsyncEngine  # autocommit, and read-only
    writing: AsyncEngine


class Awaited:
    """PostgreSQL over asyncio connections, pools per loop (``gateway.loops``).

    A read-only unit runs without a transaction around it (autocommit), on connections that
    cannot write: each statement then sees what was committed before it began, as it would
    inside a transaction at PostgreSQL's READ COMMITTED, and the ``BEGIN`` and ``COMMIT`` round
    trips are saved.
    """

    def __init__(self, make_engines: Callable[[], LoopEngines]):
        self._engines: PerLoop[LoopEngines] = PerLoop(make_engines, _dispose)

    async def run(self, work: Callable[[Session], T], *, read_only: bool) -> T:
        engines = self._engines.get()
        engine = engines.reading if read_only else engines.writing
        session = AsyncSession(engine, expire_on_commit=False)
        # One hand-over to SQLAlchemy's greenlet for the whole transaction, not one per step.
        return await session.run_sync(_in_transaction, work)

    async def close(self) -> None:
        await self._engines.close()

    def dispose(self) -> None:
        # A pool whose loop is gone cannot be closed from here (its connections are closed
        # in their loop); forget it.
        for engines in self._engines.left_open():
            for engine in (engines.reading, engines.writing):
                engine.sync_engine.dispose(close=False)


def _in_transaction(session: Session, work: Callable[[Session], T]) -> T:
    try:
        with session.begin():
            return work(session)
    finally:
        session.close()


async def _dispose(engines: LoopEngines) -> None:
    await engines.reading.dispose()
    await engines.writing.dispose()
