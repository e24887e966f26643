"""A genuine audit log of millions of entries, written straight into its tables.

Recording 10^7 entries through ``AuditLog.record`` and the sequencer takes hours; the
verification benchmarks only need a log that verification accepts. So this writes what the
sequencer would have written (entries, leaves, the perfect subtrees, the sequencer's state, a
signed checkpoint) in bulk: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

Every entry is a real entry: a thousand bodies are made by ``AuditLog.body_of`` (pseudonyms,
keyed digests, canonical JSON), and entry n takes body n % 1000 with its request id (fixed
width, so the JSON stays canonical) set to n. Its searchable columns are those of its body.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text

from gateway.audit.merkle import leaf_hash
from gateway.audit.notes import Checkpoint, sign_checkpoint
from gateway.audit.repository import add_checkpoint, load_frontier, save_frontier
from gateway.audit.service import SEARCHABLE, AuditLog, encode, searchable_values
from gateway.audit.tables import AuditCheckpoint, AuditEntry
from gateway.db.engine import Database

TEMPLATES = 1000
CHUNK = 50_000
_MARK = "bench-"  # the request id is "bench-" and 12 digits
_ENTRY_COLUMNS = ("id", "recorded_at", *SEARCHABLE, "body")


def grow(database: Database, audit: AuditLog, count: int, event: Any) -> str:
    """Append ``count`` entries made from ``event(n)`` to the log (empty or not), place them,
    and sign a checkpoint of the new size; returns its note."""
    with database.transaction() as session:
        frontier = load_frontier(session)
        next_id = 1 + int(session.scalar(select(func.max(AuditEntry.id))) or 0)
    templates = _templates(audit, event, database.engine.dialect)
    connection = database.engine.raw_connection()
    try:  # the driver's own connection: SQLAlchemy's per-row work would be most of the time
        writer = _Postgres(connection) if database.engine.dialect.name == "postgresql" else None
        cursor = connection.cursor()
        if writer is None:
            cursor.execute("PRAGMA synchronous=OFF")  # a benchmark's scratch database
            cursor.execute("PRAGMA cache_size=-1000000")  # 1 GB: the indexes take random keys
        for start in range(0, count, CHUNK):
            if writer is None:
                cursor.execute("BEGIN")  # SQLAlchemy set sqlite3 to autocommit
            entries, leaves, nodes = [], [], []
            for n in range(frontier.size, frontier.size + min(CHUNK, count - start)):
                head, tail, moment, columns = templates[n % TEMPLATES]
                body = f"{head}{n:012d}{tail}"
                digest = leaf_hash(body.encode())
                entries.append((next_id, moment, *columns, body))
                leaves.append((n, next_id, digest))
                next_id += 1
                nodes.extend(frontier.append(digest))
            if writer is not None:
                writer.write(entries, leaves, nodes)
            else:
                _sqlite_write(cursor, entries, leaves, nodes)
            connection.commit()
        if writer is None:
            cursor.execute("PRAGMA synchronous=FULL")  # the pool's other users expect it
            cursor.execute("PRAGMA cache_size=-2000")
    finally:
        connection.close()
    with database.transaction() as session:
        if database.engine.dialect.name == "postgresql":  # COPY left the id sequence behind
            session.execute(
                text("SELECT setval(pg_get_serial_sequence('audit_entries', 'id'), :last)"),
                {"last": next_id - 1},
            )
            # The statistics autovacuum would gather in time, now: planned on those of the
            # empty tables, reads of a few new rows become scans of them all.
            session.execute(text("ANALYZE audit_entries, audit_leaves, audit_nodes"))
        save_frontier(session, frontier)
        checkpoint = Checkpoint(audit.signer.name, frontier.size, frontier.root())
        note = sign_checkpoint(checkpoint, audit.signer)
        add_checkpoint(
            session,
            AuditCheckpoint(
                size=frontier.size, root=frontier.root(), note=note, created_at=datetime.now(UTC)
            ),
        )
    return note


def _templates(audit: AuditLog, event: Any, dialect: Any) -> list[tuple[str, str, Any, tuple]]:
    """Body heads and tails around the request id, the time as the database stores it, and
    the searchable columns."""
    moment = datetime.now(UTC)
    stored = AuditEntry.__table__.c.recorded_at.type.bind_processor(dialect)
    found = []
    for number in range(TEMPLATES):
        body = encode(audit.body_of(event(number), moment))
        marker = f'"{_MARK}{number:012d}"'
        assert body.count(marker) == 1, "the request id marks where n goes"
        head, tail = body.split(marker)
        found.append(
            (
                f'{head}"{_MARK}',
                f'"{tail}',
                stored(moment) if stored else moment,
                searchable_values(json.loads(body)),
            )
        )
    return found


def _sqlite_write(cursor: Any, entries: list, leaves: list, nodes: list) -> None:
    for table, columns, rows in _tables(entries, leaves, nodes):
        names, marks = ", ".join(columns), ", ".join("?" * len(columns))
        statement = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - our names
        cursor.executemany(statement, rows)


class _Postgres:
    def __init__(self, connection: Any):
        self.cursor = connection.cursor()

    def write(self, entries: list, leaves: list, nodes: list) -> None:
        for table, columns, rows in _tables(entries, leaves, nodes):
            with self.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def _tables(entries: list, leaves: list, nodes: list) -> list[tuple[str, tuple[str, ...], list]]:
    return [
        ("audit_entries", _ENTRY_COLUMNS, entries),
        ("audit_leaves", ("seq", "entry_id", "leaf_hash"), leaves),
        ("audit_nodes", ("level", "idx", "hash"), nodes),
    ]
