"""Engine and session factory for the configured database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "gateway_read_only"


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back if it raises.

        ``read_only`` promises that the block writes nothing; on SQLite it then does not queue
        for the write lock (WAL lets readers run beside the one writer).
        """
        sessions = self.read_sessions if read_only else self.sessions
        with sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def connect(url: str, **engine_options: Any) -> Database:
    engine = make_engine(url, **engine_options)
    reader = engine.execution_options(**{READ_ONLY: True})
    return Database(
        engine,
        sessionmaker(engine, expire_on_commit=False),
        sessionmaker(reader, expire_on_commit=False),
    )


def make_engine(url: str, **engine_options: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **engine_options)
    if parsed.drivername == "postgresql":
        # Plain "postgresql://" would select psycopg2, which we do not ship.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, **engine_options)


def _sqlite_engine(url: str, **engine_options: Any) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False}, **engine_options)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Freed content (a purged message payload, say) is overwritten, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY
        # when another writer committed in between; taking the write lock up front makes
        # writers queue (up to busy_timeout) instead. WAL keeps readers unblocked.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
