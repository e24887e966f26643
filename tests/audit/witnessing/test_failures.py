"""What the gateway does when a witness is down, or refuses its history: a split view (two
databases grown from one key folder) and a rolled-back database. It never stores an
unverified cosignature, and it reports, by witness name and sizes, without personal data."""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.audit import cosigned
from gateway.audit.cosignatures import split_note
from gateway.audit.tables import AuditCheckpoint, AuditCosignature
from gateway.runtime import Runtime
from tests.audit.witnessing.conftest import (
    WitnessServer,
    gateway_settings,
    grow,
    sqlite_copy,
    witnessing,
)

NAME = "dpo.example/witness"


def witness_state(runtime: Runtime) -> tuple[int, str | None]:
    with runtime.database.transaction() as session:
        state = cosigned.state_of(session, NAME)
        return state.size, state.problem


@pytest.fixture
def second_gateway(sqlite_template: Path, tmp_path: Path, witness: WitnessServer):
    """Another gateway with its own database and the first one's key folder (a copy of the
    folder, or the folder itself: the same checkpoint key either way)."""
    runtimes: list[Runtime] = []

    def start(database_url: str | None = None) -> Runtime:
        url = database_url or sqlite_copy(sqlite_template, tmp_path / "other", "gateway.db")
        runtime = Runtime.start(gateway_settings(url, tmp_path / "keys", witness))
        runtimes.append(runtime)
        return runtime

    yield start
    for runtime in runtimes:
        runtime.close()


def test_a_dead_witness_is_reported_then_catches_up(
    runtime: Runtime, trusted: WitnessServer, http: TestClient, caplog
):
    caplog.set_level(logging.WARNING, logger="gateway.audit.witnessing")
    failures = []
    with witnessing(runtime, on_failure=lambda *failure: failures.append(failure)) as submitter:
        size = grow(runtime)  # publishing does not wait for any witness
        (outcome,) = submitter.round()
        assert outcome.problem == "unreachable"
        assert failures == [(NAME, "unreachable")]
        assert f"witness {NAME}: unreachable (ConnectError)" in caplog.text
        assert f"size {size} waits for its cosignature" in caplog.text
        ready = http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["witnesses"] == "lagging"
        assert ready.json()["witness_detail"][NAME]["problem"] == "unreachable"
        assert ready.json()["witness_detail"][NAME]["entries_behind"] == size
        assert (
            f'gateway_witness_entries_behind{{witness="{NAME}"}} {float(size)}'
            in http.get("/metrics").text
        )

        with trusted.running():
            assert submitter.round()[0].size == size
    ready = http.get("/readyz").json()
    assert ready["witnesses"] == "ok"
    assert ready["witness_detail"][NAME]["problem"] is None
    metrics = http.get("/metrics").text
    assert f'gateway_witness_cosigned_size{{witness="{NAME}"}} {float(size)}' in metrics
    assert f'gateway_witness_entries_behind{{witness="{NAME}"}} 0.0' in metrics


def test_a_split_view_is_refused_and_reported(
    runtime: Runtime, trusted: WitnessServer, second_gateway, caplog, http: TestClient
):
    """The second database's tree is at least as large: the witness answers 409 with the
    first one's size, then 422 to the proof from it."""
    other = second_gateway()
    caplog.set_level(logging.WARNING, logger="gateway.audit.witnessing")
    with trusted.running(), witnessing(runtime) as first, witnessing(other) as second:
        shown = grow(runtime, 3)
        assert first.round()[0].size == shown
        grow(other, 5)
        (outcome,) = second.round()
    assert outcome.problem == "inconsistent"
    assert witness_state(other) == (0, "inconsistent")
    assert f"witness {NAME} refused checkpoint" in caplog.text
    with other.database.transaction(read_only=True) as session:
        assert session.query(AuditCosignature).count() == 0  # nothing unverified, nothing at all
    latest = trusted.store.latest(runtime.audit.verifier.name)
    assert latest is not None
    assert latest.size == shown  # the witness still holds the first history
    assert http.get("/readyz").json()["witnesses"] == "ok"  # the first gateway is fine


def test_a_split_view_behind_the_witness_is_refused_and_reported(
    runtime: Runtime, trusted: WitnessServer, second_gateway, caplog
):
    """The second database's tree is smaller than what the witness cosigned: 409 larger."""
    other = second_gateway()
    caplog.set_level(logging.WARNING, logger="gateway.audit.witnessing")
    with trusted.running(), witnessing(runtime) as first, witnessing(other) as second:
        shown = grow(runtime, 6)
        assert first.round()[0].size == shown
        ours = grow(other, 2)
        (outcome,) = second.round()
        assert second.round()[0].problem == "ahead"  # tried again each round...
    assert outcome.problem == "ahead"
    assert caplog.text.count(f"witness {NAME} has cosigned size {shown}") == 1  # ...said once
    assert f"newest checkpoint ({ours})" in caplog.text
    with other.database.transaction(read_only=True) as session:
        assert cosigned.witness_statuses(session, [NAME])[0].status == "refused"


@contextmanager
def database_backup(runtime: Runtime, folder: Path) -> Iterator[str]:
    """A copy of the gateway's database as it is now: a copy of the SQLite file, or a new
    PostgreSQL database made from it as a template (dropped afterwards)."""
    url = make_url(runtime.settings.database_url)
    if url.get_backend_name() == "sqlite":
        shutil.copyfile(str(url.database), folder / "backup.db")
        yield f"sqlite:///{folder / 'backup.db'}"
        return
    runtime.database.dispose()  # a template database must have no connections
    name = f"backup_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
    except BaseException:
        admin.dispose()
        raise
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        admin.dispose()


def test_a_rolled_back_database_is_refused_and_reported(
    trusted: WitnessServer, runtime: Runtime, second_gateway, tmp_path: Path
):
    """A copy of the database from before later checkpoints were cosigned, put back and
    grown again: its new history does not extend what the witness cosigned."""
    with ExitStack() as stack:
        with trusted.running(), witnessing(runtime) as submitter:
            grow(runtime, 2)
            assert submitter.round()[0].problem is None
            backup = stack.enter_context(database_backup(runtime, tmp_path))
            grow(runtime, 4)
            assert submitter.round()[0].problem is None
        restored = second_gateway(backup)
        with trusted.running(), witnessing(restored) as submitter:
            grow(restored, 1)  # smaller than what the witness saw: 409 with a larger size
            assert submitter.round()[0].problem == "ahead"
            grow(restored, 6)  # larger, but not an extension of it: 422
            assert submitter.round()[0].problem == "inconsistent"


def test_two_gateways_sharing_one_database_both_end_consistent(
    runtime: Runtime, trusted: WitnessServer, second_gateway, database_url: str
):
    """Two processes' submitters race over one database and one witness; neither is refused
    for good, every stored cosignature verifies, and both end at the newest checkpoint."""
    other = second_gateway(database_url)
    with trusted.running(), witnessing(runtime) as first, witnessing(other) as second:

        def work(gateway: Runtime, submitter) -> None:
            for _ in range(8):
                grow(gateway, 2)
                submitter.round()

        threads = [
            threading.Thread(target=work, args=pair) for pair in ((runtime, first), (other, second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        first.round()
        second.round()
    newest = grow(runtime, 0)
    assert witness_state(runtime) == (newest, None)
    latest = trusted.store.latest(runtime.audit.verifier.name)
    assert latest is not None
    assert latest.size == newest
    key = runtime.settings.witnesses[0].witness_key
    with runtime.database.transaction(read_only=True) as session:
        rows = session.query(AuditCosignature).all()
        assert rows
        for row in rows:
            checkpoint = session.get(AuditCheckpoint, row.size)
            assert checkpoint is not None
            text, _ = split_note(checkpoint.note)
            assert key.timestamp_of(row.signature, text) is not None
