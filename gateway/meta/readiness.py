"""Whether the gateway can serve: the database takes writes on every path that uses it.

A database that answers reads may still take no writes (a read-only file, a full disk), and
then every change, every audit entry and so every release fails: readiness writes a row, on
the routes' connections and on the event loop's own, so a load balancer takes the node out.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.db.engine import Database
from gateway.errors import DatabaseUnavailable
from gateway.meta.tables import ReadinessProbe

_PROBE_ROW = 1
# A database that fails as well as one out of reach (a driver's refused connection is an
# OSError): either way the node cannot serve.
_FAILURES = (SQLAlchemyError, OSError, DatabaseUnavailable)


async def database_ready(database: Database) -> bool:
    """The routes' connections (on a worker thread) and the exchange path's own (from the
    event loop: asyncpg on PostgreSQL, with its own reading of the URL) write, and the exchange
    path's readers read."""
    try:
        await run_in_threadpool(_write_on_the_routes_connections, database)
        await database.run(_write)
        await database.run(_select_one, read_only=True)
    except _FAILURES:
        return False
    return True


def _write_on_the_routes_connections(database: Database) -> None:
    # A transaction of its own holding the one statement: on SQLite it takes the write lock
    # (BEGIN IMMEDIATE) for no longer than the write itself.
    with database.transaction() as session:
        _write(session)


def _write(session: Session) -> None:
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    now = datetime.now(UTC)
    session.execute(
        dialect.insert(ReadinessProbe)
        .values(id=_PROBE_ROW, checked_at=now)
        .on_conflict_do_update(index_elements=[ReadinessProbe.id], set_={"checked_at": now})
    )


def _select_one(session: Session) -> None:
    session.connection().execute(text("SELECT 1"))
