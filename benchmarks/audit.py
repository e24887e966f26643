"""Audit log benchmarks: audited appends against bare inserts, verification, proofs.

    python -m benchmarks.audit [--database-url URL] [--appends N] [--processes P]
                               [--verify-size N]

- appends: N entries, one transaction each (as requests write them), through AuditLog.record,
  against a bare insert of the same rows into a plain table in the same run; then the same with
  P processes at once.
- verification: a log of --verify-size entries (default 100,000; use 1000000 for the bar in
  issue #3) is built in batches and published; full verification and an inclusion proof are
  timed.

Ratios are against baselines measured in the same run; nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, insert

from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.audit.service import AuditLog, encode
from gateway.audit.verify import verify_stored
from gateway.db.engine import Database, connect
from gateway.runtime import open_audit_log
from gateway.settings import Settings
from tests.support import fresh_database


def event(number: int) -> AuditEvent:
    return AuditEvent(
        EventType.EXCHANGE_DECIDED,
        actor="bench-jobcenter",
        requester="bench-jobcenter",
        provider="bench-auslaenderbehoerde",
        caseworker="cw-1",
        subject_id=f"subject-{number % 5000}",
        categories=("residence_status",),
        purpose="labour_market_integration",
        decision=Decision.PERMIT,
        legal_basis="consent",
        consent_id=f"consent-{number % 5000}",
        consent_version=1,
        payload=b'{"title":"residence_permit"}',
        request_id=f"bench-{number:012d}",
    )


def audited_appends(settings: Settings, count: int, offset: int = 0, threads: int = 1) -> float:
    """Seconds for ``count`` appends, each its own transaction, from ``threads`` threads (a
    gateway process serves requests from a thread pool)."""
    database, audit = connect(settings.database_url), open_audit_log(settings)

    def append(number: int) -> None:
        with database.transaction() as session:
            audit.record(session, event(number))

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(append, range(offset, offset + count)))
    elapsed = time.perf_counter() - started
    database.dispose()
    return elapsed


def bare_inserts(settings: Settings, count: int) -> float:
    """The same rows (same body) into a plain table with no audit machinery."""
    database, audit = connect(settings.database_url), open_audit_log(settings)
    id_type = BigInteger().with_variant(Integer(), "sqlite")
    table = Table(
        "bench_bare",
        MetaData(),
        Column("id", id_type, primary_key=True, autoincrement=True),
        Column("event", String(48)),
        Column("body", Text),
    )
    table.create(database.engine, checkfirst=True)
    bodies = [encode(audit.body_of(event(n), datetime.now(UTC))) for n in range(count)]
    started = time.perf_counter()
    for body in bodies:
        with database.engine.begin() as connection:
            connection.execute(insert(table), {"event": "exchange.decided", "body": body})
    elapsed = time.perf_counter() - started
    table.drop(database.engine)
    database.dispose()
    return elapsed


def _worker(arguments: tuple[dict[str, object], int, int]) -> float:
    settings, count, offset = arguments
    return audited_appends(Settings.model_validate(settings), count, offset)


def build_log(database: Database, audit: AuditLog, size: int) -> None:
    for start in range(0, size, 2000):
        with database.transaction() as session:
            for number in range(start, min(size, start + 2000)):
                audit.record(session, event(number))
    audit.publish(database, batch=20000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server; a fresh database is made")
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--verify-size", type=int, default=100_000)
    options = parser.parse_args()
    name = "PostgreSQL" if options.database_url else "SQLite"

    with tempfile.TemporaryDirectory(prefix="gateway-bench-audit-") as folder:
        keys = Path(folder) / "keys"
        with fresh_database(options.database_url, "bench") as url:
            settings = Settings(database_url=url, key_dir=keys)
            print(f"{name}: {options.appends} appends, one transaction each")
            bare = bare_inserts(settings, options.appends)
            audited = audited_appends(settings, options.appends, offset=10**9)
            print(f"  bare insert      {options.appends / bare:10.0f} rows/s")
            print(f"  audited append   {options.appends / audited:10.0f} rows/s"
                  f"   ratio to bare {bare / audited:5.2f}")  # fmt: skip
            threaded = audited_appends(settings, options.appends, offset=3 * 10**9, threads=8)
            print(f"  same, 8 threads  {options.appends / threaded:10.0f} rows/s (one process)")
            together, total = _in_processes(settings, options)
            print(f"  {options.processes} processes      {total / together:10.0f} rows/s together")
            database, audit = connect(url), open_audit_log(settings)
            started = time.perf_counter()
            audit.publish(database, batch=20000)
            placed = total + options.appends
            print(f"  sequencing {placed} entries: {time.perf_counter() - started:.2f} s")
            database.dispose()

        with fresh_database(options.database_url, "bench") as url:
            _verification(Settings(database_url=url, key_dir=keys), options.verify_size)


def _in_processes(settings: Settings, options: argparse.Namespace) -> tuple[float, int]:
    per_process = options.appends // options.processes
    plain = settings.model_dump(mode="json")
    jobs = [(plain, per_process, 2 * 10**9 + p * per_process) for p in range(options.processes)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(options.processes) as pool:
        pool.map(_worker, jobs)
    return time.perf_counter() - started, per_process * options.processes


def _verification(settings: Settings, size: int) -> None:
    database, audit = connect(settings.database_url), open_audit_log(settings)
    print(f"log of {size} entries")
    started = time.perf_counter()
    build_log(database, audit, size)
    print(f"  build and publish  {time.perf_counter() - started:8.2f} s")
    started = time.perf_counter()
    with database.transaction(read_only=True) as session:
        report = verify_stored(session, audit.verifier)
    print(f"  full verification  {time.perf_counter() - started:8.2f} s  intact={report.intact}")
    rounds = 200
    with database.transaction(read_only=True) as session:
        started = time.perf_counter()
        for index in range(0, size, max(1, size // rounds)):
            audit.inclusion(session, index, size)
        elapsed = time.perf_counter() - started
    print(f"  inclusion proof    {elapsed / rounds * 1000:8.2f} ms each")
    database.dispose()


if __name__ == "__main__":
    main()
