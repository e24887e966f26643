"""Whether the gateway can serve: the database answers on every path that uses it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.db.engine import Database
from gateway.errors import DatabaseUnavailable


async def database_reachable(database: Database) -> bool:
    """The routes' connections (on a worker thread) and the exchange path's own connections
    (from the event loop: asyncpg on PostgreSQL, with its own reading of the URL) both work."""
    return await run_in_threadpool(_reachable, database) and await _reachable_from_the_loop(
        database
    )


def _reachable(database: Database) -> bool:
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, DatabaseUnavailable):
        return False
    return True


async def _reachable_from_the_loop(database: Database) -> bool:
    try:
        await database.run(_select_one, read_only=True)
    except (SQLAlchemyError, OSError, DatabaseUnavailable):
        return False
    return True


def _select_one(session: Session) -> None:
    session.connection().execute(text("SELECT 1"))
