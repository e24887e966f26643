"""Consent-check latency as the registry grows: 10^3, 10^4, 10^5 (and 10^6) consents.

    python -m benchmarks.consents [--database-url postgresql://...] [--sizes 1000,10000,100000]

Fills a fresh database with consents of distinct persons (bulk inserts, the same rows the
registry writes), then times the consent check a release runs (the permissions' lookup and
``consent.check``) for persons spread over the registry. The aim
is flat latency: the check is one indexed lookup. Reported side by side, relative to the
smallest size, measured in the same run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from consent.check import check
from gateway.consents.repository import permissions
from gateway.consents.tables import ConsentPermission, ConsentRecord, ConsentVersion
from gateway.db.engine import connect
from gateway.subjects.tables import Subject
from tests.support import fresh_database

ABH, JC = "bench-auslaenderbehoerde", "bench-jobcenter"
NOW = datetime.now(UTC)


def fill(url: str, start: int, stop: int) -> list[str]:
    """Consents number start..stop-1, one person each; returns their subject ids."""
    database = connect(url)
    subjects = []
    for chunk in range(start, stop, 5000):
        rows = range(chunk, min(stop, chunk + 5000))
        ids = [(str(uuid.UUID(int=n + 1)), str(uuid.UUID(int=10**12 + n))) for n in rows]
        with database.engine.begin() as connection:
            connection.execute(insert(Subject), [{"id": s, "created_at": NOW} for s, _ in ids])
            connection.execute(
                insert(ConsentRecord),
                [
                    {"id": c, "subject_id": s, "recorded_by": JC, "created_at": NOW,
                     "current_version": 1}
                    for s, c in ids
                ],
            )  # fmt: skip
            connection.execute(insert(ConsentVersion), [_version(c) for _, c in ids])
            connection.execute(
                insert(ConsentPermission),
                [
                    {"consent_id": c, "version": 1, "provider": ABH, "recipient": JC,
                     "category": "residence_status", "purpose": purpose, "subject_id": s}
                    for s, c in ids
                    for purpose in ("labour_market_integration", "case_management")
                ],
            )  # fmt: skip
        subjects += [s for s, _ in ids]
    database.dispose()
    return subjects


def _version(consent_id: str) -> dict[str, object]:
    return {
        "consent_id": consent_id,
        "version": 1,
        "status": "active",
        "valid_from": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=300),
        "grants": [],
        "given_by": ["data_subject"],
        "subject_age_band": "adult",
        "notice": {},
        "evidence": {},
        "recorded_at": NOW,
        "recorded_by": JC,
        "receipt": "x",
    }


def time_checks(url: str, subjects: list[str], rounds: int) -> list[float]:
    database = connect(url)
    picks = random.Random(7).choices(subjects, k=rounds)  # noqa: S311 (sampling, not secrets)
    latencies = []
    with database.transaction(read_only=True) as session:
        for subject in picks:
            started = time.perf_counter()
            result = check(
                permissions(session, subject, ABH, JC), provider=ABH, recipient=JC,
                category="residence_status", purpose="case_management", at=NOW,
            )  # fmt: skip
            latencies.append(time.perf_counter() - started)
            assert hasattr(result, "consent_id"), result
    database.dispose()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server; a fresh database is made")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--rounds", type=int, default=2000)
    options = parser.parse_args()
    sizes = sorted(int(size) for size in options.sizes.split(","))
    print("PostgreSQL" if options.database_url else "SQLite")
    print(f"{'consents':>10}{'p50 us':>10}{'p99 us':>10}{'p50 vs smallest':>18}")
    with fresh_database(options.database_url, "bench") as url:
        subjects: list[str] = []
        first = None
        for size in sizes:
            subjects += fill(url, len(subjects), size)
            latencies = sorted(time_checks(url, subjects, options.rounds))
            p50 = statistics.median(latencies) * 1e6
            p99 = latencies[int(len(latencies) * 0.99) - 1] * 1e6
            first = first or p50
            print(f"{size:>10}{p50:>10.0f}{p99:>10.0f}{p50 / first:>18.2f}")


if __name__ == "__main__":
    main()
