"""Fresh, throw-away databases for benchmarks: never the ones a gateway uses."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.db.migrate import upgrade


@contextmanager
def fresh_database(server_url: str | None) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, or a new database on the PostgreSQL server
    that ``server_url`` points at (dropped afterwards)."""
    if server_url is None:
        with tempfile.TemporaryDirectory(prefix="gateway-bench-db-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            yield url
        return
    server = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"gateway_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
