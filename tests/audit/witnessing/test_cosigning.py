"""Each checkpoint goes to the witness; its cosignature is verified, stored and served."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from gateway.agencies.tables import ClientRole
from gateway.app import create_app
from gateway.audit.cosigned import cosigned_checkpoint
from gateway.audit.events import OPERATOR, AuditEvent, EventType
from gateway.audit.notes import verify_checkpoint
from gateway.audit.publisher import Publisher
from gateway.audit.tables import AuditCosignature
from gateway.dpo import integrity
from gateway.runtime import Runtime
from tests.audit.dpo_api.seeded import bearer, token_for
from tests.audit.witnessing.conftest import WitnessServer, grow, witnessing
from tests.conftest import TEST_ISSUER
from tests.support import Clients
from tests.witness.logs import cosignature_time


def test_checkpoints_get_cosigned_stored_and_served_as_the_policy_wants(
    runtime: Runtime, trusted: WitnessServer
):
    policy = runtime.settings.witness_policy
    with trusted.running(), witnessing(runtime) as submitter:
        first = grow(runtime)
        assert submitter.round()[0].size == first
        second = grow(runtime)
        assert submitter.round()[0].size == second
    with runtime.database.transaction(read_only=True) as session:
        stored = session.query(AuditCosignature).order_by(AuditCosignature.size).all()
        note = cosigned_checkpoint(session, policy)
    assert [row.size for row in stored] == [first, second]
    assert note is not None
    assert verify_checkpoint(note, runtime.audit.verifier).size == second
    assert policy.satisfied_by(note)  # 1 of 1
    text = note.rpartition("\n\n")[0] + "\n"
    cosignature_time(
        stored[1].signature + "\n", text, trusted.cosigner.name, trusted.cosigner.key.raw
    )
    # The witness holds the same: it would refuse any other history from now on.
    latest = trusted.store.latest(runtime.audit.verifier.name)
    assert latest is not None
    assert latest.size == second


def test_the_served_checkpoint_carries_the_cosignature(
    runtime: Runtime, trusted: WitnessServer, clients: Clients, http: TestClient
):
    dpo = clients.other("city-dpo", ClientRole.DPO)
    with trusted.running(), witnessing(runtime) as submitter:
        size = grow(runtime)
        submitter.round()
        grow(runtime)  # newer, not cosigned yet: the cosigned one is served
    note = http.get("/v1/audit/checkpoint", headers=bearer(token_for(http, dpo))).text
    assert verify_checkpoint(note, runtime.audit.verifier).size == size
    assert runtime.settings.witness_policy.satisfied_by(note)


def test_a_checkpoint_with_no_cosignature_yet_is_served_as_it_is(runtime: Runtime):
    size = grow(runtime)
    with runtime.database.transaction(read_only=True) as session:
        note = cosigned_checkpoint(session, runtime.settings.witness_policy)
    assert note is not None
    assert verify_checkpoint(note, runtime.audit.verifier).size == size
    assert not runtime.settings.witness_policy.satisfied_by(note)


def wait_until_cosigned(witness: WitnessServer, runtime: Runtime, size: int) -> None:
    while True:
        latest = witness.store.latest(runtime.audit.verifier.name)
        if latest is not None and latest.size >= size:
            return
        time.sleep(0.02)


@pytest.mark.timeout(120)
def test_a_new_checkpoint_wakes_the_submitter_at_once(runtime: Runtime, trusted: WitnessServer):
    """Its own round comes every hour here: only the nudge a publish gives can bring the
    cosignature before the test's timeout."""
    with trusted.running(), witnessing(runtime, interval=3600) as submitter:
        submitter.start()
        size = grow(runtime)
        submitter.nudge()
        wait_until_cosigned(trusted, runtime, size)


@pytest.mark.timeout(120)
def test_the_publisher_nudges_the_submitter_after_each_publish(runtime: Runtime):
    nudged = threading.Event()
    with runtime.database.transaction() as session:
        runtime.audit.record(session, AuditEvent(EventType.CLIENT_ADDED, actor=OPERATOR))
    publisher = Publisher(runtime.audit, runtime.database, 0.01, after_publish=nudged.set)
    publisher.start()
    try:
        assert nudged.wait(60)
    finally:
        publisher.stop()


@pytest.mark.timeout(120)
def test_a_serving_gateway_gets_its_checkpoints_cosigned(runtime: Runtime, trusted: WitnessServer):
    """The app's lifespan runs the publisher and the submitter together."""
    fast = runtime.settings.model_copy(update={"audit_checkpoint_interval": 0.05})
    serving = Runtime(**{**runtime.__dict__, "settings": fast})
    with trusted.running(), TestClient(create_app(runtime=serving), base_url=TEST_ISSUER):
        with runtime.database.transaction() as session:
            runtime.audit.record(session, AuditEvent(EventType.CLIENT_ADDED, actor=OPERATOR))
        wait_until_cosigned(trusted, runtime, 1)


def test_the_dpo_s_kept_checkpoint_carries_the_cosignature(
    runtime: Runtime, trusted: WitnessServer
):
    """The file the integrity page gives the DPO to keep is the newest checkpoint with what the
    witness cosigned, so a later `verify --from` can hold the log to the witness policy."""
    with trusted.running(), witnessing(runtime) as submitter:
        size = grow(runtime)
        submitter.round()
    with runtime.database.transaction() as session:
        download = integrity.checkpoint_file(session, runtime.audit, "city-dpo", None)
    assert verify_checkpoint(download.text, runtime.audit.verifier).size == size
    assert runtime.settings.witness_policy.satisfied_by(download.text)
