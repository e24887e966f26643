"""The lifecycle as a background chore: off at 0, run at once when a process starts, then an
interval later, and logged once per run with counts only."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from gateway.lifecycle.chore import LifecycleChore
from gateway.lifecycle.periods import Periods
from gateway.runtime import Runtime
from tests.lifecycle import seed
from tests.lifecycle.seed import JC

LONG_AGO = datetime.now(UTC) - timedelta(days=4 * 365)


def _chore(runtime: Runtime, interval: float) -> LifecycleChore:
    periods = Periods.of(runtime.settings, runtime.policies)
    return LifecycleChore(
        runtime.database, runtime.audit, periods, interval=interval, batch=500, pause=0
    )


def _a_person_long_gone(runtime: Runtime, reference: str) -> str:
    with runtime.database.transaction() as session:
        who = seed.person(session, {JC: reference}, LONG_AGO)
        seed.consent(session, who, recorded_at=LONG_AGO, valid_until=LONG_AGO + timedelta(1))
    return who


def test_an_interval_of_zero_turns_the_chore_off(runtime: Runtime, offices: None) -> None:
    _a_person_long_gone(runtime, "JC-1")
    assert _chore(runtime, 0)() is None
    with runtime.database.transaction(read_only=True) as session:
        assert seed.counts(session)["subjects"] == 1


def test_the_chore_runs_at_once_then_waits_its_interval_and_logs_counts_only(
    runtime: Runtime, offices: None, caplog: pytest.LogCaptureFixture
) -> None:
    who = _a_person_long_gone(runtime, "JC-1")
    chore = _chore(runtime, 3600)
    with caplog.at_level(logging.INFO, logger="gateway.lifecycle.chore"):
        report = chore()
    assert report is not None
    assert report.total == 2  # the consent and the person
    _a_person_long_gone(runtime, "JC-2")
    assert chore() is None  # not due again for an hour
    (line,) = [record.getMessage() for record in caplog.records]
    assert "consents=1" in line
    assert "persons=1" in line
    assert who not in line
    assert "JC-1" not in line
