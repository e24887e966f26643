"""The witness's store: one SQLite file holding the logs it trusts and, per log origin, the
latest checkpoint it cosigned.

Checking a submission against the recorded size and recording the new checkpoint are one
``BEGIN IMMEDIATE`` transaction (tlog-witness's atomicity race: two submitters interleaving
must never roll the witness back), committed before the answer leaves. The write-ahead log
with ``synchronous=FULL`` makes a commit durable and the file whole after a kill -9 at any
moment: a reader sees the state before or after an update, never half of one.

The state is kept per origin, not per log key: the spec names a log by its origin, and a
state per key would let two keys trusted for one origin grow two histories.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from gateway.audit.notes import Verifier

STORE_FILE = "witness.sqlite3"
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT NOT NULL,
    key_id TEXT NOT NULL,
    vkey TEXT NOT NULL,
    PRIMARY KEY (origin, key_id)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    origin TEXT PRIMARY KEY,
    origin_hash TEXT NOT NULL UNIQUE,
    key_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class Cosigned:
    """The latest checkpoint the witness cosigned for one log."""

    origin: str
    key_id: str
    size: int
    root: bytes
    note: str  # the checkpoint with the log's signature and the witness's cosignature
    cosigned_at: int


def origin_hash(origin: str) -> str:
    return hashlib.sha256(origin.encode()).hexdigest()


class WitnessStore:
    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        with closing(self._open()) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)

    @classmethod
    def in_folder(cls, folder: Path) -> WitnessStore:
        return cls(folder / STORE_FILE)

    def _open(self) -> sqlite3.Connection:
        # Autocommit mode leaves the transactions to the explicit BEGIN below.
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection, kept open: threads never share one, and closing the
        last connection would checkpoint the write-ahead log after every request."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._open()
        return connection

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the write lock from its first statement on."""
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    # -- trusted logs -------------------------------------------------------------------------

    def add_log(self, verifier: Verifier) -> bool:
        """Trust ``verifier`` for the log whose origin is its name; False if it was already."""
        with self._immediate() as connection:
            cursor = connection.execute(
                "INSERT OR IGNORE INTO logs (origin, key_id, vkey) VALUES (?, ?, ?)",
                (verifier.name, verifier.id.hex(), verifier.vkey()),
            )
            return cursor.rowcount == 1

    def log_keys(self, origin: str) -> list[Verifier]:
        rows = self._connect().execute("SELECT vkey FROM logs WHERE origin = ?", (origin,))
        return [Verifier.from_vkey(vkey) for (vkey,) in rows.fetchall()]

    # -- cosigned checkpoints -----------------------------------------------------------------

    def latest(self, origin: str) -> Cosigned | None:
        return self._one("SELECT * FROM checkpoints WHERE origin = ?", origin)

    def latest_by_hash(self, hashed_origin: str) -> Cosigned | None:
        return self._one("SELECT * FROM checkpoints WHERE origin_hash = ?", hashed_origin)

    def _one(self, sql: str, value: str) -> Cosigned | None:
        row = self._connect().execute(sql, (value,)).fetchone()
        if row is None:
            return None
        origin, _, key_id, size, root, note, cosigned_at = row
        return Cosigned(origin, key_id, size, bytes(root), note, cosigned_at)

    def advance(self, origin: str, decide: Callable[[Cosigned | None], tuple[Cosigned, T]]) -> T:
        """Read the log's latest cosigned checkpoint, let ``decide`` check the submission
        against it and return the new one (or raise), and record that, in one transaction
        that holds the write lock throughout. Returns what ``decide`` returned alongside."""
        with self._immediate() as connection:
            row = connection.execute(
                "SELECT * FROM checkpoints WHERE origin = ?", (origin,)
            ).fetchone()
            current = None
            if row is not None:
                _, _, key_id, size, root, note, cosigned_at = row
                current = Cosigned(origin, key_id, size, bytes(root), note, cosigned_at)
            new, answer = decide(current)
            connection.execute(
                "INSERT INTO checkpoints"
                " (origin, origin_hash, key_id, size, root, note, cosigned_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (origin) DO UPDATE SET key_id = excluded.key_id,"
                " size = excluded.size, root = excluded.root, note = excluded.note,"
                " cosigned_at = excluded.cosigned_at",
                (
                    origin,
                    origin_hash(origin),
                    new.key_id,
                    new.size,
                    new.root,
                    new.note,
                    new.cosigned_at,
                ),
            )
        return answer
