"""Records of emergency access (§ 8a SGB VIII) go ``GATEWAY_EMERGENCY_RECORD_DAYS`` after
their window closed, and only once a DPO reviewed them and they are shown to the person; the
person goes with the last of their records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gateway.emergency.tables import EmergencyUse, EmergencyWindow
from gateway.lifecycle.service import Kind, Report
from gateway.runtime import Runtime
from gateway.subjects.tables import Subject
from tests.lifecycle import seed
from tests.lifecycle.conftest import erasures
from tests.lifecycle.seed import JA, exists

T0 = datetime(2025, 1, 1, tzinfo=UTC)
RECORD = timedelta(days=365)  # GATEWAY_EMERGENCY_RECORD_DAYS' default
SECOND = timedelta(seconds=1)
Run = Callable[..., Report]


def test_a_reviewed_record_goes_after_its_period_and_the_person_with_it(
    runtime: Runtime, lifecycle: Run
) -> None:
    with runtime.database.transaction() as session:
        who = seed.person(session, {JA: "JA-1"}, T0)
        window = seed.emergency(session, who, T0, reviewed_at=T0)

    assert lifecycle(T0 + RECORD).erased[Kind.EMERGENCY] == 0  # exactly the period: not yet
    report = lifecycle(T0 + RECORD + SECOND)

    assert report.erased[Kind.EMERGENCY] == 1
    assert report.erased[Kind.PERSONS] == 1
    with runtime.database.transaction(read_only=True) as session:
        assert not exists(session, EmergencyWindow, id=window)
        assert not exists(session, EmergencyUse, window_id=window)
        assert not exists(session, Subject, id=who)
    (entry, _person) = erasures(runtime)
    assert entry == {"kind": "emergency", "uses": 1, "windows": 1, "persons": 1}


def test_an_unreviewed_or_still_deferred_record_is_kept_whatever_its_age(
    runtime: Runtime, lifecycle: Run
) -> None:
    much_later = T0 + 10 * RECORD
    with runtime.database.transaction() as session:
        unreviewed = seed.emergency(session, seed.person(session, {JA: "JA-1"}, T0), T0)
        deferred = seed.emergency(
            session,
            seed.person(session, {JA: "JA-2"}, T0),
            T0,
            reviewed_at=T0,
            deferred_until=much_later + timedelta(days=1),
        )

    report = lifecycle(much_later)

    assert report.erased[Kind.EMERGENCY] == 0
    assert report.erased[Kind.PERSONS] == 0
    with runtime.database.transaction(read_only=True) as session:
        assert exists(session, EmergencyWindow, id=unreviewed)
        assert exists(session, EmergencyWindow, id=deferred)
