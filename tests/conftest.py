"""Shared fixtures: a clean database per test (SQLite, or PostgreSQL when configured), a gateway
app over it, registered clients with their keys, and a real HTTP server when a test needs one.

With GATEWAY_TEST_DATABASE_URL set (CI sets it), every test runs against a PostgreSQL database
that this run creates on that server and drops at the end, so runs never see each other's rows.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from gateway.app import create_app
from gateway.db.engine import READ_ONLY, Database
from gateway.db.metadata import metadata
from gateway.db.migrate import upgrade
from gateway.observability.logging import JsonFormatter, configure_logging
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.support import Clients, LiveServer, fresh_database, start_live_server

TEST_ISSUER = "http://localhost"
pytest_plugins = ["tests.keys.operator"]  # the operator's command line and the key folder's clock


def pytest_report_header() -> str:
    url = os.environ.get("GATEWAY_TEST_DATABASE_URL")
    target = make_url(url).render_as_string(hide_password=True) if url else "SQLite"
    return f"gateway test database: {target}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this run, migrated once; None when testing on SQLite."""
    server_url = os.environ.get("GATEWAY_TEST_DATABASE_URL")
    if not server_url:
        yield None
        return
    with fresh_database(server_url) as url:
        _commit_without_waiting_for_the_disk(url)
        yield url


def _commit_without_waiting_for_the_disk(url: str) -> None:
    """The run's database answers a commit before its write-ahead log reaches the disk
    (``synchronous_commit = off``). A crash of the server could lose the last commits, which a
    throw-away test database need not survive; what other sessions see is unchanged, and no
    test relies on PostgreSQL's durability (it is the server's setting, not the gateway's).
    On a busy CI machine a commit otherwise waits several milliseconds for its sync."""
    admin = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    name = make_url(url).database
    with admin.begin() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "gateway.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_emptier(postgres_url: str | None) -> Iterator[Callable[[], None] | None]:
    """Empties every table of the run's PostgreSQL database after a test, over one connection
    pool kept for the run; None on SQLite (each test copies the template file there)."""
    if postgres_url is None:
        yield None
        return
    # No connection kept between tests: a test may copy the database as a template, which
    # PostgreSQL refuses while another session is connected to it.
    engine = create_engine(
        make_url(postgres_url).set(drivername="postgresql+psycopg"), poolclass=NullPool
    )
    # DELETE, not TRUNCATE: the tables a test leaves hold a few rows, and TRUNCATE gives each of
    # the 27 tables a new file and syncs them at commit, ~0.1-0.5 s a test against ~3 ms (most
    # of PostgreSQL's lead over SQLite in CI). Neither resets sequences, so the two leave the
    # same database. One round trip carries all the statements.
    deletes = "; ".join(f'DELETE FROM "{table.name}"' for table in metadata.sorted_tables)

    def empty_all_tables() -> None:
        with engine.begin() as connection:
            # The audit tables refuse DELETE; a replica session fires neither their triggers
            # nor the foreign keys' checks, so the order of the statements does not matter.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.exec_driver_sql(deletes)

    yield empty_all_tables
    engine.dispose()


@pytest.fixture
def database_url(
    postgres_url: str | None,
    postgres_emptier: Callable[[], None] | None,
    sqlite_template: Path,
    tmp_path: Path,
) -> Iterator[str]:
    if postgres_url is None or postgres_emptier is None:
        path = tmp_path / "gateway.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    yield postgres_url
    postgres_emptier()


@pytest.fixture
def policy_dir() -> Path | None:
    """The policy folder a live city's gateway runs with (``tests.adversarial.conftest.city``):
    the reference set unless a module overrides this fixture."""
    return None


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        key_dir=tmp_path / "keys",
        demo_dir=tmp_path / "demo",
        issuer=TEST_ISSUER,
        key_reload_interval=0,
        audit_checkpoint_interval=0,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.start(settings)
    refuse_writes_in_read_only_transactions(runtime.database.engine)
    yield runtime
    runtime.close()


_WRITES = re.compile(r"\b(INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\S+\s+SET)\b", re.IGNORECASE)


def refuse_writes_in_read_only_transactions(engine: Engine) -> None:
    """A read-only transaction promises to write nothing (on SQLite it then does not take the
    write lock), but nothing in the database holds it to that on the request path's engine:
    in tests, a write in one fails."""

    @event.listens_for(engine, "before_cursor_execute")
    def _refuse(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY) and _WRITES.search(statement):
            raise AssertionError(f"a write in a read-only transaction: {statement[:60]}")


@pytest.fixture
def database(runtime: Runtime) -> Database:
    return runtime.database


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime=runtime)


@pytest.fixture
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=TEST_ISSUER, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def clients(runtime: Runtime) -> Clients:
    """Registers agencies and other clients, keeping their private keys for the tests."""
    return Clients(runtime.database, runtime.audit)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged during the test, through the gateway's own formatter, at DEBUG."""
    previous = logging.getLogger().handlers[:], logging.getLogger().level
    configure_logging("DEBUG")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().handlers[:] = [handler]
    yield stream
    logging.getLogger().handlers[:], level = previous
    logging.getLogger().setLevel(level)


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The gateway behind a real uvicorn server on a free port of 127.0.0.1."""
    with start_live_server(database_url, tmp_path / "live") as server:
        yield server
