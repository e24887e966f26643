"""Audit log benchmarks: audited appends against bare inserts, verification, proofs.

    python -m benchmarks.audit [--database-url URL] [--appends N] [--processes P]
                               [--verify-size N] [--rounds R]
                               [--incremental-sizes N,M,...] [--new K]

- appends: N entries, one transaction each (as requests write them), through AuditLog.record,
  against a bare insert of the same rows into a plain table in the same run; then the same with
  P processes at once. --appends 0 leaves them out.
- verification: a log of --verify-size entries (default 100,000; issue #21 asks 1000000 under
  10 s) is built straight into the tables (benchmarks/audit_log.py); full verification is timed
  R times, then an inclusion proof. --verify-size 0 leaves it out.
- incremental verification: for each size N (ascending), the log is grown to N entries, its
  checkpoint kept, grown by K more (default 100,000), and verification from the kept checkpoint
  timed R times; the last line compares the largest size's time with the smallest's (issue #21:
  10^5 new entries on logs of 10^6 and 10^7, under 1 s and flat).

Ratios are against baselines measured in the same run; nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, insert
from sqlalchemy.orm import Session

from benchmarks.audit_log import grow
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.audit.incremental import verify_stored_from
from gateway.audit.service import encode
from gateway.audit.verify import verify_stored
from gateway.db.engine import Database, connect
from gateway.runtime import open_audit_log
from gateway.settings import Settings
from tests.support import fresh_database

T = TypeVar("T")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server; a fresh database is made")
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--verify-size", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="timings of each verification")
    parser.add_argument("--incremental-sizes", type=_sizes, default=[], metavar="N,M,...")
    parser.add_argument("--new", type=int, default=100_000, help="entries after the kept one")
    options = parser.parse_args()
    name = "PostgreSQL" if options.database_url else "SQLite"

    with tempfile.TemporaryDirectory(prefix="gateway-bench-audit-") as folder:
        keys = Path(folder) / "keys"
        if options.appends:
            _appends(options, name, keys)
        if options.verify_size:
            with fresh_database(options.database_url, "bench") as url:
                settings = Settings(database_url=url, key_dir=keys)
                _verification(settings, options.verify_size, options.rounds)
        if options.incremental_sizes:
            with fresh_database(options.database_url, "bench") as url:
                settings = Settings(database_url=url, key_dir=keys)
                _incremental(settings, sorted(options.incremental_sizes), options)


def _sizes(text: str) -> list[int]:
    return [int(size) for size in text.split(",") if size]


def _appends(options: argparse.Namespace, name: str, keys: Path) -> None:
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


def _in_processes(settings: Settings, options: argparse.Namespace) -> tuple[float, int]:
    per_process = options.appends // options.processes
    plain = settings.model_dump(mode="json")
    jobs = [(plain, per_process, 2 * 10**9 + p * per_process) for p in range(options.processes)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(options.processes) as pool:
        pool.map(_worker, jobs)
    return time.perf_counter() - started, per_process * options.processes


def _verification(settings: Settings, size: int, rounds: int) -> None:
    database, audit = connect(settings.database_url), open_audit_log(settings)
    print(f"log of {size} entries")
    started = time.perf_counter()
    grow(database, audit, size, event)
    print(f"  build (in bulk)    {time.perf_counter() - started:8.2f} s")
    for _ in range(rounds):
        elapsed, cpu, report = _timed(
            database, lambda session: verify_stored(session, audit.verifier)
        )
        print(f"  full verification  {elapsed:8.2f} s  (CPU {cpu:.2f} s)  intact={report.intact}")
    rounds = 200
    with database.transaction(read_only=True) as session:
        started = time.perf_counter()
        for index in range(0, size, max(1, size // rounds)):
            audit.inclusion(session, index, size)
        elapsed = time.perf_counter() - started
    print(f"  inclusion proof    {elapsed / rounds * 1000:8.2f} ms each")
    database.dispose()


def _incremental(settings: Settings, sizes: list[int], options: argparse.Namespace) -> None:
    """Verification of ``options.new`` entries after a kept checkpoint, on logs of ``sizes``:
    one database, grown from one size to the next."""
    database, audit = connect(settings.database_url), open_audit_log(settings)
    best: dict[int, float] = {}
    placed = 0
    for size in sizes:
        started = time.perf_counter()
        if size <= placed:
            raise SystemExit(f"--incremental-sizes: {size} is not above {placed}")
        kept = grow(database, audit, size - placed, event)
        grow(database, audit, options.new, event)
        placed = size + options.new
        print(f"log of {size} entries + {options.new} new (built in bulk in "
              f"{time.perf_counter() - started:.1f} s)")  # fmt: skip
        times = []
        for _ in range(options.rounds):
            elapsed, cpu, verified = _timed(
                database, partial(verify_stored_from, verifier=audit.verifier, kept=kept)
            )
            times.append(elapsed)
            print(f"  from the kept checkpoint  {elapsed:6.2f} s  (CPU {cpu:.2f} s)  "
                  f"intact={verified.report.intact}")  # fmt: skip
        best[size] = min(times)
    if len(best) > 1:
        small, large = min(best), max(best)
        print(f"  best of each: {large} / {small} entries: {best[large] / best[small]:.2f}")
    database.dispose()


def _timed(database: Database, run: Callable[[Session], T]) -> tuple[float, float, T]:
    """Wall-clock and CPU seconds of ``run`` in a read-only transaction. The CPU time tells
    what the work costs when other processes share the machine's cores."""
    started, cpu = time.perf_counter(), time.process_time()
    with database.transaction(read_only=True) as session:
        result = run(session)
    return time.perf_counter() - started, time.process_time() - cpu, result


if __name__ == "__main__":
    main()
