"""Engine and session factory for the configured database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.db.faults import Outage, describe, shown, sqlite_cannot_write, unavailable
from gateway.db.inloop import Awaited, InLoop, InProcess, LoopEngines
from gateway.errors import DatabaseUnavailable

READ_ONLY = "gateway_read_only"
CHANGES_AT_BEGIN = "gateway_changes_at_begin"  # a SQLite connection's row changes, at BEGIN
# A pooled server connection is checked for life before use only after resting this long.
PING_AFTER_IDLE = 1.0  # seconds
# How long a SQLite writer waits for the write lock before it gives up.
BUSY_TIMEOUT = 10.0  # seconds
T = TypeVar("T")


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    in_loop: InLoop  # the same database for code running in the event loop
    outage: Outage = field(default_factory=Outage)

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back if it raises.

        ``read_only`` promises that the block writes nothing; on SQLite it then does not queue
        for the write lock (WAL lets readers run beside the one writer). Raises
        ``DatabaseUnavailable`` when the database is out of reach or takes no writes.
        """
        sessions = self.read_sessions if read_only else self.sessions
        back = False
        try:
            with sessions.begin() as session:
                yield session
                back = not read_only and self.outage.on and _changed_rows(session)
        except DBAPIError as error:  # psycopg and sqlite3 raise nothing else on their own
            self._raise_if_unavailable(error, read_only)
            raise
        if back:
            self.outage.ends()

    async def run(self, work: Callable[[Session], T], *, read_only: bool = False) -> T:
        """For code running in the event loop: ``work(session)`` in one transaction, committed
        when it returns, rolled back if it raises; without a worker thread (see
        ``gateway.db.inloop``). ``read_only`` promises that it writes nothing (a write then
        fails); on PostgreSQL it runs without a transaction around it. Raises
        ``DatabaseUnavailable`` as ``transaction`` does."""
        watching = not read_only and self.outage.on

        def watched(session: Session) -> tuple[T, bool]:
            return work(session), _changed_rows(session)

        try:
            if not watching:
                return await self.in_loop.run(work, read_only=read_only)
            result, back = await self.in_loop.run(watched, read_only=False)
        except (DBAPIError, OSError) as error:  # asyncpg's refused connection is an OSError
            self._raise_if_unavailable(error, read_only)
            raise
        if back:
            self.outage.ends()
        return result

    def _raise_if_unavailable(self, error: DBAPIError | OSError, read_only: bool) -> None:
        if unavailable(error, read_only=read_only):
            self.outage.begins(error)
            raise DatabaseUnavailable(
                database=shown(self.engine.url), cause=describe(error)
            ) from error

    async def close_loop(self) -> None:
        """Close the running loop's connections (its app is shutting down)."""
        await self.in_loop.close()

    def dispose(self) -> None:
        self.in_loop.dispose()
        self.engine.dispose()


def _changed_rows(session: Session) -> bool:
    """Whether the session's transaction changed rows; asked only during an outage, before the
    commit, as proof that the database is back: on SQLite a transaction that wrote nothing
    commits even on a read-only file. A server that answered is back whatever was written."""
    connection = session.connection()
    changes = getattr(connection.connection.dbapi_connection, "total_changes", None)
    return changes is None or changes != connection.info.get(CHANGES_AT_BEGIN)


def connect(
    url: str, *, ping_after_idle: float = PING_AFTER_IDLE, **engine_options: Any
) -> Database:
    engine = make_engine(url, ping_after_idle=ping_after_idle, **engine_options)
    reads = sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)
    in_loop: InLoop
    if engine.dialect.name == "sqlite":
        # The loop's own connections, so that it never waits for one a thread holds; a few
        # suffice, as a loop runs one transaction at a time. Its writers ask for the write
        # lock without waiting; its readers cannot write.
        loop_pool: dict[str, Any] = {"pool_size": 1, "max_overflow": 4}
        in_loop = InProcess(
            reads=_sqlite_engine(url, query_only=True, **loop_pool).execution_options(
                **{READ_ONLY: True}
            ),
            writes=_sqlite_engine(url, busy_timeout=0, **loop_pool),
            patience=BUSY_TIMEOUT,
        )
    else:
        pool_size = engine_options.get("pool_size", 5)
        in_loop = Awaited(lambda: _asyncpg_engines(engine.url, pool_size, ping_after_idle))
    return Database(engine, sessionmaker(engine, expire_on_commit=False), reads, in_loop)


# libpq's TCP keepalive settings, which asyncpg does not take (it would send them to the server
# as unknown settings); they apply to the psycopg connections.
_PSYCOPG_ONLY = frozenset(
    {"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout"}
)


def _asyncpg_engines(url: URL, pool_size: int, ping_after_idle: float) -> LoopEngines:
    """One loop's PostgreSQL pools, over asyncpg, connecting with the configured URL's libpq
    parameters (``sslmode``, ``application_name``, ``options`` ...).

    Not psycopg's asyncio mode, though it would leave one driver and take the URL as it is:
    measured again on 2026-12-06 (``postgresql+psycopg_async``, the same pools; the exchange
    benchmark on PostgreSQL, one worker, four A/B alternations in one session), it cost 3.84
    against 3.17 ms of gateway CPU per query (+21%, more in each pair), for a throughput
    ratio of 0.20 against 0.26 (a message cycle in the loop: 8.9 against 6.7 ms, 0.16
    against 0.19); in ``Database.run``, ~230 against ~170 µs per further statement. Its waits
    register the socket with the loop anew at every round trip. See benchmarks/README.md.
    """
    query = {name: value for name, value in url.query.items() if name not in _PSYCOPG_ONLY}
    timeout = float(str(query.pop("connect_timeout", 60)))  # asyncpg's own argument
    dsn = url.set(drivername="postgresql", query=query).render_as_string(hide_password=False)

    def engine(size: int, **options: Any) -> AsyncEngine:
        server_settings = options.pop("server_settings", {})

        async def connection() -> Any:
            return await asyncpg.connect(dsn, timeout=timeout, server_settings=server_settings)

        # No overflow: requests in the loop await a free connection, no thread is blocked.
        made = create_async_engine(
            "postgresql+asyncpg://",
            async_creator=connection,
            pool_size=size,
            max_overflow=0,
            **options,
        )
        _ping_rested_connections(made.sync_engine, ping_after_idle)
        return made

    return LoopEngines(
        # Readers run without transactions (see Awaited) and cannot write.
        # (AUTOCOMMIT as the engine's own level is set once per connection, not at every
        # checkout and return as an execution option would.)
        reading=engine(
            pool_size,
            isolation_level="AUTOCOMMIT",
            server_settings={"default_transaction_read_only": "on"},
        ),
        # The group committer runs one transaction at a time per loop.
        writing=engine(2),
    )


def make_engine(
    url: str, *, ping_after_idle: float = PING_AFTER_IDLE, **engine_options: Any
) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **engine_options)
    if parsed.drivername == "postgresql":
        # Plain "postgresql://" would select psycopg2, which we do not ship.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    engine = create_engine(url, **engine_options)
    _ping_rested_connections(engine, ping_after_idle)
    return engine


def _ping_rested_connections(engine: Engine, idle: float) -> None:
    """Check a pooled connection for life before use, but only if it rested ``idle`` seconds.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip per transaction,
    which a busy gateway pays twice per query for nothing, as its connections are in constant
    use. A connection the server closed while it rested (a restart, an idle timeout) is found
    here and replaced before a request sees it; one that breaks while in use fails that one
    transaction, as it would with any ping, and SQLAlchemy then renews the whole pool.
    """

    @event.listens_for(engine, "checkin")
    def _rested_since(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _alive(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get("checked_in")
        if checked_in is None or time.monotonic() - checked_in < idle:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool drops this connection and connects anew
            raise DisconnectionError("a pooled connection did not answer") from error


def _sqlite_engine(
    url: str, *, busy_timeout: float = BUSY_TIMEOUT, query_only: bool = False, **engine_options: Any
) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False}, **engine_options)
    pragmas = [f"PRAGMA busy_timeout={int(busy_timeout * 1000)}"]
    if query_only:
        pragmas.append("PRAGMA query_only=ON")  # any write fails at once
        # Nothing to make durable: a reader's setting only matters for what it writes.
        pragmas.append("PRAGMA synchronous=NORMAL")
    else:
        # Each commit syncs the write-ahead log before it returns. NORMAL syncs only at
        # checkpoints, and a power loss then takes the last commits with it: a release already
        # answered could lose its audit entry.
        pragmas.append("PRAGMA synchronous=FULL")

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.execute("PRAGMA foreign_keys=ON")
        # Freed content (a purged message payload, say) is overwritten, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    if not query_only:

        @event.listens_for(engine, "handle_error")
        def _discard_when_it_cannot_write(context: ExceptionContext) -> None:
            # A connection opened while the file was read-only stays read-only after the
            # file is writable again, and would fail its writes for as long as it stays
            # pooled. Marked lost, it is closed, and so is every other connection the pool
            # opened before it (they may be read-only too); the next ones open afresh.
            if sqlite_cannot_write(context.original_exception):
                context.is_disconnect = True

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY
        # when another writer committed in between; taking the write lock up front makes
        # writers queue (up to busy_timeout) instead. WAL keeps readers unblocked.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        connection.info[CHANGES_AT_BEGIN] = connection.connection.dbapi_connection.total_changes

    return engine
