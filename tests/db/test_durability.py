"""SQLite commits survive a power loss: every connection that writes syncs the write-ahead log
at each commit (``synchronous=FULL``), so an answered release never loses its audit entry."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gateway.runtime import Runtime
from tests.support import run_in_new_loop

FULL = 2  # what PRAGMA synchronous reports for FULL (NORMAL is 1)


def _synchronous(session: Session) -> int:
    return int(session.execute(text("PRAGMA synchronous")).scalar_one())


def test_every_writing_sqlite_connection_syncs_at_each_commit(runtime: Runtime):
    database = runtime.database
    if make_url(database.engine.url).get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL's durability is the server's (synchronous_commit)")

    with database.transaction() as session:  # the routes' connections
        routes = _synchronous(session)

    async def in_the_loop() -> int:  # the exchange path's writing connections
        try:
            return await database.run(_synchronous)
        finally:
            await database.close_loop()

    assert (routes, run_in_new_loop(in_the_loop)) == (FULL, FULL)
