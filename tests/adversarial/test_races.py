"""Timing: a release decides again at the moment it commits, and that moment is the one that
counts, however long it waited for locks or for its turn in the group commit. A consent that
ran out meanwhile, or an agency disabled meanwhile, stops it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from gateway.consents.tables import ConsentRecord
from gateway.release import ledger
from tests.adversarial.conftest import ABH, AMIRA, JC, RESIDENCE, City

REFS = {JC: AMIRA[JC], ABH: AMIRA[ABH]}


@contextmanager
def holding_the_release(city: City, consent_id: str) -> Iterator[None]:
    """Hold what a release must wait for: SQLite's write lock, or the consent's row lock."""
    with city.runtime.database.transaction() as session:  # SQLite: BEGIN IMMEDIATE
        session.execute(
            select(ConsentRecord.id).where(ConsentRecord.id == consent_id).with_for_update()
        )
        yield


def _wait_for(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the query never got that far"
        time.sleep(0.02)


def test_a_consent_that_expires_while_its_release_waits_is_not_released(city: City):
    expires = datetime.now(UTC) + timedelta(seconds=6)
    answer = city.record(JC, REFS, RESIDENCE, valid_until=expires.isoformat())
    assert answer.status_code == 201, answer.text
    city.token(JC)  # taken now: a token's issue writes too
    with ThreadPoolExecutor(1) as pool:
        with holding_the_release(city, answer.json()["consent_id"]):
            asked = pool.submit(city.ask, JC, ABH, AMIRA[JC])
            _wait_for(lambda: city.fetches.get(ABH, 0) == 1)  # decided: permitted, then asked
            time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.3)
        response = asked.result(timeout=30)
    assert response.status_code == 403, response.text
    assert response.json()["reason"] == "consent_expired"
    assert [e["reason"] for e in city.audit("exchange.decided")] == ["consent_expired"]


def test_a_disabling_that_commits_during_a_release_waits_for_it(
    city: City, monkeypatch: pytest.MonkeyPatch
):
    """A release decided on an enabled agency commits before that agency's disabling, or
    sees it: never does data leave after the disabling committed."""
    city.recorded(JC, REFS, RESIDENCE)
    city.token(JC)
    in_window, go, disabled = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []
    record = ledger.add

    def add(session: Any, rows: Any) -> None:  # decided again; not yet committed
        in_window.set()
        go.wait(10)
        seen.append(disabled.is_set())
        record(session, rows)

    def disable() -> None:
        city.gateway.clients.disable(JC)
        disabled.set()

    monkeypatch.setattr(ledger, "add", add)
    with ThreadPoolExecutor(2) as pool:
        asked = pool.submit(city.ask, JC, ABH, AMIRA[JC])
        assert in_window.wait(20)
        disabling = pool.submit(disable)
        time.sleep(1.0)  # long enough for the disabling to commit, if nothing holds it
        go.set()
        response = asked.result(timeout=30)
        disabling.result(timeout=30)
    assert seen == [False]
    assert response.status_code == 200
    assert city.ask(JC, ABH, AMIRA[JC]).status_code in (401, 403)  # and after it: nothing
