"""The background publisher: a failing chore holds up neither the other chores nor the
placing and signing of audit entries."""

from __future__ import annotations

import threading

import pytest

from gateway.audit.events import OPERATOR, AuditEvent, EventType
from gateway.audit.publisher import Publisher
from gateway.errors import DatabaseUnavailable
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


@pytest.mark.timeout(60)
def test_an_outage_is_not_logged_again_at_every_round(runtime: Runtime, caplog, monkeypatch):
    """The outage is logged once where it is met (gateway.db.faults); rounds that meet it
    again add nothing to the log."""
    rounds = threading.Semaphore(0)

    def unavailable(*_: object) -> None:
        rounds.release()
        raise DatabaseUnavailable(cause="cannot be reached")

    monkeypatch.setattr(runtime.audit, "publish", unavailable)
    publisher = Publisher(runtime.audit, runtime.database, 0.01, chores=[unavailable])
    publisher.start()
    try:
        for _ in range(6):  # three rounds: a chore and a publish each
            assert rounds.acquire(timeout=30)
    finally:
        publisher.stop()
    assert "failed" not in caplog.text
