"""When the database is out of reach or takes no writes: told apart from every other database
error, answered as ``DatabaseUnavailable`` (503), and logged once per outage.

Narrowly: a lost, refused or timed-out connection, a server shutting down, starting up or out
of connection slots, a SQLite file that is read-only, full, or failing to read or write. Not
a SQL error, a constraint, a deadlock or a serialization failure: those are the request's
own, stay a logged 500 (or are retried where they are today) and end no outage.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading

import psycopg
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

# SQLite's primary result codes (the low byte of the extended ones) for a file that takes no
# writes or cannot be read or written.
_SQLITE_UNAVAILABLE = frozenset(
    {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN}
)
# PostgreSQL's SQLSTATEs: connection exceptions (class 08), the server shutting down
# (57P01, 57P02), starting up (57P03), out of connection slots (53300).
_POSTGRES_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300"})


def sqlite_cannot_write(error: BaseException | None) -> bool:
    """A SQLite error saying the file is read-only, full or failing, not that the statement
    was wrong or the write lock busy."""
    return _sqlite_code(error) in _SQLITE_UNAVAILABLE


def _sqlite_code(error: BaseException | None) -> int | None:
    """The primary result code of a SQLite error (the low byte of its extended code)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(error, sqlite3.Error) and code is not None else None


def unavailable(error: BaseException, *, read_only: bool = False) -> bool:
    """Whether ``error``, raised by a transaction, says the database is unavailable. In a
    ``read_only`` one, a refused write is the work's own fault (SQLite's query_only connections
    refuse it with the code a read-only file has)."""
    if isinstance(error, DBAPIError):
        if read_only and _sqlite_code(error.orig) == sqlite3.SQLITE_READONLY:
            return False
        # connection_invalidated: the dialect found the connection lost (or, on SQLite, the
        # engine's handle_error marked a file that takes no writes, see gateway.db.engine).
        return bool(error.connection_invalidated) or _driver_unavailable(error.orig)
    # asyncpg raises a refused, reset or timed-out connection attempt as the OS error it is.
    return isinstance(error, ConnectionError | TimeoutError | socket.gaierror)


def _driver_unavailable(error: BaseException | None) -> bool:
    if error is None:
        return False
    if sqlite_cannot_write(error):
        return True
    # psycopg says nothing of a server it never reached, or lost: no SQLSTATE.
    if isinstance(error, psycopg.OperationalError) and error.sqlstate is None:
        return True
    state = getattr(error, "sqlstate", None)  # psycopg's, and asyncpg's as SQLAlchemy adapts it
    return isinstance(state, str) and (state.startswith("08") or state in _POSTGRES_UNAVAILABLE)


def describe(error: BaseException) -> str:
    """What the operator is told of an unavailable database, in fixed words (a driver's
    message may quote data)."""
    orig = error.orig if isinstance(error, DBAPIError) else error
    code = _sqlite_code(orig)
    if code is not None:
        return _SQLITE_WORDS.get(code, "cannot be read or written (a disk error)")
    state = getattr(orig, "sqlstate", None)
    if state in ("57P01", "57P02", "57P03"):
        return "is shutting down or starting up"
    if state == "53300":
        return "has no free connection slot"
    return "cannot be reached"


_SQLITE_WORDS = {
    sqlite3.SQLITE_READONLY: "is read-only",
    sqlite3.SQLITE_FULL: "is full (no space left on its disk)",
    sqlite3.SQLITE_CANTOPEN: "cannot be opened",
}


def shown(url: URL) -> str:
    """A database URL as the operator may see it: with its password hidden."""
    return url.render_as_string(hide_password=True)


class Outage:
    """Whether this process finds its database unavailable. The log says so once when that
    starts and once when it ends, not at every request that meets it (a ten-second outage
    of a busy gateway was thousands of lines)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down = False

    @property
    def on(self) -> bool:
        return self._down

    def begins(self, error: BaseException) -> None:
        with self._lock:
            if self._down:
                return
            self._down = True
        # Fixed words, and the error's type and code locations (see observability.logging).
        log.error(
            f"database unavailable: it {describe(error)}; requests that need it get 503",
            exc_info=(type(error), error, error.__traceback__),
            extra={"event": "database_unavailable"},
        )

    def ends(self) -> None:
        """A change was committed: the database is back, if it was away."""
        if not self._down:  # the common case, without the lock
            return
        with self._lock:
            if not self._down:
                return
            self._down = False
        log.info("database available again", extra={"event": "database_available"})
