"""Runs of the lifecycle as they happen in production: several instances at once, a run killed
(kill -9) between its batches and run again, and the command with ``--dry-run``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from gateway.audit.events import EventType
from gateway.audit.tables import AuditEntry
from gateway.audit.verify import verify_stored
from gateway.consents.tables import ConsentPermission, ConsentRecord, ConsentVersion
from gateway.lifecycle import service
from gateway.lifecycle.periods import Periods
from gateway.lifecycle.service import Batches, Kind, Report
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.subjects.tables import Subject
from tests.keys.operator import Command
from tests.lifecycle import seed
from tests.lifecycle.conftest import erasures
from tests.lifecycle.seed import JC

LONG_AGO = datetime.now(UTC) - timedelta(days=4 * 365)


def _ended_persons(runtime: Runtime, how_many: int) -> None:
    """Persons whose only consent expired four years ago, each with a ledger row as old."""
    with runtime.database.transaction() as session:
        for number in range(how_many):
            who = seed.person(session, {JC: f"JC-{number}"}, LONG_AGO)
            seed.consent(session, who, recorded_at=LONG_AGO, valid_until=LONG_AGO + timedelta(1))
            seed.release(session, who, LONG_AGO)


def _left(runtime: Runtime) -> dict[str, int]:
    with runtime.database.transaction(read_only=True) as session:
        return {
            table.__tablename__: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (Subject, ConsentRecord, ConsentVersion, ConsentPermission)
        }


def _counted(runtime: Runtime, kind: str, key: str) -> int:
    return sum(entry[key] for entry in erasures(runtime) if entry["kind"] == kind)


def test_instances_erasing_at_once_erase_each_row_once_and_count_it_once(
    runtime: Runtime, settings: Settings, offices: None
) -> None:
    persons = 120
    _ended_persons(runtime, persons)
    instances = [runtime, *(Runtime.start(settings) for _ in range(2))]
    reports: list[Report] = []
    failures: list[BaseException] = []
    start = threading.Barrier(len(instances))

    def erase(instance: Runtime) -> None:
        try:
            start.wait()
            periods = Periods.of(instance.settings, instance.policies)
            batches = Batches(size=7)
            reports.append(service.run(instance.database, instance.audit, periods, batches=batches))
        except BaseException as failure:  # reported below, in the test's thread
            failures.append(failure)

    threads = [threading.Thread(target=erase, args=(instance,)) for instance in instances]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for instance in instances[1:]:
            instance.close()

    assert failures == []
    assert _left(runtime) == dict.fromkeys(_left(runtime), 0)
    assert sum(report.erased[Kind.CONSENTS] for report in reports) == persons
    assert sum(report.erased[Kind.PERSONS] for report in reports) == persons
    assert sum(report.erased[Kind.RELEASES] for report in reports) == persons
    assert _counted(runtime, "consents", "consents") == persons
    assert _counted(runtime, "consents", "versions") == persons
    assert _counted(runtime, "persons", "persons") == persons
    assert _counted(runtime, "releases", "rows") == persons
    pseudonyms = " ".join(e["subjects"] for e in erasures(runtime) if e["kind"] == "persons")
    assert len(set(pseudonyms.split())) == persons
    runtime.audit.publish(runtime.database)
    with runtime.database.transaction(read_only=True) as session:
        assert verify_stored(session, runtime.audit.verifier).intact


def _lifecycle_entries(runtime: Runtime) -> int:
    with runtime.database.transaction(read_only=True) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.event == EventType.LIFECYCLE_ERASED.value)
            )
            or 0
        )


def test_a_run_killed_between_batches_leaves_whole_batches_and_the_next_run_finishes(
    runtime: Runtime, settings: Settings, offices: None, operator: Command
) -> None:
    persons = 60
    _ended_persons(runtime, persons)
    environment = {
        **os.environ,
        "GATEWAY_DATABASE_URL": settings.database_url,
        "GATEWAY_KEY_DIR": str(settings.key_dir),
        "GATEWAY_ISSUER": settings.issuer,
        "GATEWAY_LIFECYCLE_PAUSE": "0.2",  # time to kill it between two batches
    }
    command = [sys.executable, "-m", "gateway", "lifecycle", "run", "--batch", "5"]
    running = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        # Twelve batches of ledger rows, then two of the sixty consents.
        while _lifecycle_entries(runtime) < 14 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(running.pid, signal.SIGKILL)
    finally:
        running.wait(timeout=30)
    assert running.returncode == -signal.SIGKILL

    # Killed part-way: what is gone is on record, batch by batch, and nothing is half gone.
    left = _left(runtime)
    assert 0 < left["consents"] < persons
    assert left["consent_versions"] == left["consent_permissions"] == left["consents"]
    assert _counted(runtime, "consents", "consents") == persons - left["consents"]

    finished = operator("lifecycle", "run", "--batch", "5")
    assert finished.exit_code == 0, finished.output
    assert _left(runtime) == dict.fromkeys(left, 0)
    assert _counted(runtime, "consents", "consents") == persons
    assert _counted(runtime, "persons", "persons") == persons
    assert _counted(runtime, "releases", "rows") == persons
    verified = operator("audit", "verify", "--wait", "0")
    assert verified.exit_code == 0, verified.output


def test_a_dry_run_lists_what_is_due_and_changes_nothing(
    runtime: Runtime, offices: None, operator: Command
) -> None:
    _ended_persons(runtime, 3)
    with runtime.database.transaction() as session:
        who = seed.person(session, {JC: "JC-active"}, LONG_AGO)
        seed.consent(session, who, recorded_at=LONG_AGO, valid_until=LONG_AGO + timedelta(3000))
    with runtime.database.transaction(read_only=True) as session:
        before = seed.counts(session)

    dry = operator("lifecycle", "run", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "releases: 3 due" in dry.output
    assert "consents: 3 due" in dry.output
    assert "persons: 0 due" in dry.output  # their consents and rows are still there
    with runtime.database.transaction(read_only=True) as session:
        assert seed.counts(session) == before
    assert erasures(runtime) == []

    done = operator("lifecycle", "run")
    assert done.exit_code == 0, done.output
    assert "consents: 3 erased" in done.output
    assert "persons: 3 erased" in done.output
    assert _left(runtime)["subjects"] == 1  # the person whose consent is active
    assert {entry["kind"] for entry in erasures(runtime)} == {"releases", "consents", "persons"}
