"""Witness benchmarks: how fast a local witness cosigns, and how soon after a checkpoint the
gateway holds its cosignature.

    python -m benchmarks.witness [--database-url URL] [--submissions N] [--checkpoints K]

- add-checkpoint: N submissions over HTTP (one keep-alive connection) to a `gateway witness`
  app on a loopback port, each growing the tree by a few entries with its consistency proof;
  requests per second and p50/p99 latency (the store commits each with synchronous=FULL);
- lag: K checkpoints published by a gateway (10 entries each) on a fresh database, its
  submitter woken by the publish as the background publisher does; the time from the publish's
  return to the verified cosignature stored in the database (aim in issue #21: <= 1 s).

Figures, not pass/fail thresholds: the machine is shared.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from gateway.audit.events import OPERATOR, AuditEvent, EventType
from gateway.audit.tables import AuditCosignature
from gateway.audit.witnessing import Witnessing
from gateway.db.engine import connect
from gateway.runtime import open_audit_log
from gateway.settings import Settings, WitnessConfig
from gateway.witness.keys import create_cosigner
from gateway.witness.routes import create_witness_app
from gateway.witness.service import Witness
from gateway.witness.store import WitnessStore
from tests.support import free_port, fresh_database, serve_app
from tests.witness.logs import MemoryLog


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def add_checkpoints(folder: Path, count: int) -> None:
    log = MemoryLog.seeded(b"bench")
    cosigner = create_cosigner(folder / "w1", "bench/witness")
    store = WitnessStore.in_folder(folder / "w1")
    witness = Witness(cosigner, store)
    store.add_log(log.signer.verifier)
    bodies, old = [], 0
    for step in range(count):
        size = old + 1 + step % 7
        bodies.append(log.body(old, size))
        old = size
    latencies = []
    with serve_app(create_witness_app(witness)) as url, httpx.Client(base_url=url) as http:
        started = time.perf_counter()
        for body in bodies:
            sent = time.perf_counter()
            response = http.post("/add-checkpoint", content=body)
            latencies.append(time.perf_counter() - sent)
            assert response.status_code == 200, response.text
        elapsed = time.perf_counter() - started
    print(f"add-checkpoint: {count} submissions over HTTP, tree grown to {old}")
    print(f"  {count / elapsed:8.0f} requests/s   p50 {percentile(latencies, 0.5) * 1000:6.2f} ms"
          f"   p99 {percentile(latencies, 0.99) * 1000:6.2f} ms")  # fmt: skip


def lag(folder: Path, database_url: str | None, checkpoints: int) -> None:
    cosigner = create_cosigner(folder / "w2", "bench/witness")
    store = WitnessStore.in_folder(folder / "w2")
    port = free_port()
    config = WitnessConfig(url=f"http://127.0.0.1:{port}", key=cosigner.key.vkey())
    with fresh_database(database_url, "bench") as url:
        settings = Settings(database_url=url, key_dir=folder / "keys", witnesses=(config,))
        database, audit = connect(url), open_audit_log(settings)
        store.add_log(audit.verifier)
        lags = []
        with serve_app(create_witness_app(Witness(cosigner, store)), port):
            submitter = Witnessing(database, settings.witnesses, interval=3600)
            submitter.start()
            for _ in range(checkpoints):
                with database.transaction() as session:
                    for _ in range(10):
                        audit.record(session, AuditEvent(EventType.CLIENT_ADDED, actor=OPERATOR))
                size = audit.publish(database).size
                published = time.perf_counter()
                submitter.nudge()  # what the publisher does after each publish
                while True:
                    with database.transaction(read_only=True) as session:
                        if session.get(AuditCosignature, ("bench/witness", size)) is not None:
                            break
                    time.sleep(0.001)
                lags.append(time.perf_counter() - published)
            submitter.stop()
        database.dispose()
    print(f"lag: {checkpoints} checkpoints, publish to stored verified cosignature")
    print(f"  median {statistics.median(lags) * 1000:6.1f} ms   max {max(lags) * 1000:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server; a fresh database is made")
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--checkpoints", type=int, default=50)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gateway-bench-witness-") as folder:
        add_checkpoints(Path(folder), options.submissions)
        lag(Path(folder), options.database_url, options.checkpoints)


if __name__ == "__main__":
    main()
