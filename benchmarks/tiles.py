"""The log served as tiles: serving throughput, and verification over them from outside.

    python -m benchmarks.tiles [--database-url URL] [--size N] [--new N] [--requests N]

Builds a log of --size entries (default 100,000) on a fresh database, starts ``gateway serve``
with the log public, and measures from --concurrency client threads the throughput and p50/p99
of the checkpoint, a full level-0 tile, a level-1 tile and a full entry bundle, against
``GET /healthz`` in the same run. Then verifies the whole log over its tiles, grows it by
--new entries (default 10,000) and verifies again from the checkpoint kept the first time:
the second run's time should follow the new entries, not the log.

Ratios are against baselines measured in the same run; nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.audit import event
from benchmarks.audit_log import grow
from benchmarks.run import _run, _wait_ready
from gateway.audit.incremental import verify_tiled
from gateway.audit.remote import TiledLog
from gateway.audit.service import AuditLog
from gateway.audit.tiles import index_path
from gateway.db.engine import Database, connect
from gateway.runtime import open_audit_log
from gateway.settings import Settings
from tests.support import free_port, fresh_database


def main() -> None:
    options = _arguments()
    name = "PostgreSQL" if options.database_url else "SQLite"
    with (
        tempfile.TemporaryDirectory(prefix="gateway-bench-tiles-") as folder,
        fresh_database(options.database_url, "bench") as database_url,
    ):
        work = Path(folder)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = Settings(database_url=database_url, key_dir=work / "keys", issuer=url)
        database, audit = connect(database_url), open_audit_log(settings)
        started = time.perf_counter()
        grow(database, audit, options.size, event)
        print(f"{name}: a log of {options.size} entries, built in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        env = os.environ | {
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_KEY_DIR": str(work / "keys"),
            "GATEWAY_ISSUER": url,
            "GATEWAY_LOG_LEVEL": "WARNING",
            "GATEWAY_AUDIT_LOG_PUBLIC": "entries",
            "GATEWAY_AUDIT_CHECKPOINT_INTERVAL": "0",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
            env=env,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_ready(url)
            _serving(f"{url}/v1/audit/log", url, options, server.pid)
            _verifying(f"{url}/v1/audit/log", database, audit, options)
        finally:
            server.terminate()
            server.wait(timeout=30)
            database.dispose()


def _serving(prefix: str, url: str, options: argparse.Namespace, pid: int) -> None:
    full_tiles = max(1, options.size // 256)
    counter = iter(range(10**9))

    def baseline(client: httpx.Client) -> int:
        return client.get(f"{url}/healthz").status_code

    def checkpoint(client: httpx.Client) -> int:
        return client.get(f"{prefix}/checkpoint").status_code

    def tile(client: httpx.Client) -> int:
        index = next(counter) % full_tiles
        return client.get(f"{prefix}/tile/0/{index_path(index)}").status_code

    upper_width = min(256, options.size // 256)  # the first level-1 tile's (needs 256 entries)
    upper = "tile/1/000" if upper_width == 256 else f"tile/1/000.p/{upper_width}"

    def upper_tile(client: httpx.Client) -> int:
        return client.get(f"{prefix}/{upper}").status_code

    def bundle(client: httpx.Client) -> int:
        index = next(counter) % full_tiles
        return client.get(f"{prefix}/tile/entries/{index_path(index)}").status_code

    cases = (("healthz (baseline)", baseline), ("checkpoint", checkpoint), ("level-0 tile", tile),
             ("level-1 tile", upper_tile), ("entry bundle", bundle))  # fmt: skip
    print(f"serving, {options.requests} requests each from {options.concurrency} threads")
    base = None
    for label, call in cases:
        _run(call, max(50, options.requests // 10), options.concurrency)  # warm-up
        result = _run(call, options.requests, options.concurrency, {"gateway": pid})
        base = base or result["throughput_rps"]
        cpu = f"  cpu {result['gateway_cpu_ms']:6.2f} ms" if "gateway_cpu_ms" in result else ""
        print(f"  {label:20} {result['throughput_rps']:8.0f} req/s  "
              f"p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms  "
              f"ratio to baseline {result['throughput_rps'] / base:5.2f}{cpu}")  # fmt: skip


def _verifying(
    prefix: str, database: Database, audit: AuditLog, options: argparse.Namespace
) -> None:
    with TiledLog.open(prefix) as log:
        started = time.perf_counter()
        whole = verify_tiled(log, audit.verifier)
        full = time.perf_counter() - started
    print(f"verification over tiles, all {whole.report.size} entries: {full:6.2f} s  "
          f"intact={whole.report.intact}")  # fmt: skip
    grow(database, audit, options.new, event)
    with TiledLog.open(prefix) as log:
        started = time.perf_counter()
        again = verify_tiled(log, audit.verifier, kept=whole.checkpoint)
        incremental = time.perf_counter() - started
    new = again.report.size - whole.report.size
    print(f"  from the kept checkpoint, {new} new entries: {incremental:6.2f} s  "
          f"intact={again.report.intact}  ratio to full {incremental / full:5.2f}")  # fmt: skip


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server; a fresh database is made")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    return parser.parse_args()


if __name__ == "__main__":
    main()
