"""The background publisher: a failing chore holds up neither the other chores nor the
placing and signing of audit entries."""

from __future__ import annotations

import threading

import pytest

from gateway.audit.events import OPERATOR, AuditEvent, EventType
from gateway.audit.publisher import Publisher
from gateway.runtime import Runtime


def checkpoint_size(runtime: Runtime) -> int:
    with runtime.database.transaction(read_only=True) as session:
        latest = runtime.audit.latest(session)
    return latest.size if latest else 0


@pytest.mark.timeout(60)
def test_a_failing_chore_does_not_stop_publishing(runtime: Runtime, caplog):
    with runtime.database.transaction() as session:
        runtime.audit.record(session, AuditEvent(EventType.CLIENT_ADDED, actor=OPERATOR))
    ran = threading.Event()

    def failing() -> None:
        raise RuntimeError("broken chore")

    publisher = Publisher(runtime.audit, runtime.database, 0.01, chores=[failing, ran.set])
    publisher.start()
    try:
        assert ran.wait(30)
        while checkpoint_size(runtime) == 0:
            ran.clear()
            assert ran.wait(30)
    finally:
        publisher.stop()
    assert "a background chore failed" in caplog.text
