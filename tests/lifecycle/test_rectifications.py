"""Rectification notices on the lifecycle's clock: an unanswered one keeps its consent and its
person (the office has not answered the person yet); an answered one goes with its consent, or,
about a release by statute, with its person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gateway.consents.tables import ConsentRecord
from gateway.lifecycle.service import Report
from gateway.rectifications.tables import Rectification
from gateway.runtime import Runtime
from gateway.subjects.tables import Subject
from tests.lifecycle import seed
from tests.lifecycle.conftest import erasures
from tests.lifecycle.seed import JC, exists

T0 = datetime(2025, 1, 1, tzinfo=UTC)
EVIDENCE = timedelta(days=1095)  # GATEWAY_CONSENT_EVIDENCE_DAYS' default
Run = Callable[..., Report]


def _rectification(runtime: Runtime, who: str, consent_id: str | None) -> str:
    with runtime.database.transaction() as session:
        return seed.rectification(session, who, T0, consent_id=consent_id)


def _answer(runtime: Runtime, rectification_id: str) -> None:
    with runtime.database.transaction() as session:
        found = session.get(Rectification, rectification_id)
        assert found is not None
        found.answered_at, found.outcome = T0 + EVIDENCE, "corrected"
        found.key_id = found.wrapped_key = found.nonce = found.ciphertext = None


def test_an_unanswered_rectification_keeps_its_consent_and_person_until_answered(
    runtime: Runtime, lifecycle: Run
) -> None:
    with runtime.database.transaction() as session:
        who = seed.person(session, {JC: "JC-1"}, T0)
        ended = seed.consent(session, who, recorded_at=T0, valid_until=T0 + EVIDENCE,
                             withdrawn_at=T0)  # fmt: skip
    flagged = _rectification(runtime, who, ended)

    lifecycle(T0 + 2 * EVIDENCE)
    with runtime.database.transaction(read_only=True) as session:
        assert exists(session, ConsentRecord, id=ended)
        assert exists(session, Rectification, id=flagged)
        assert exists(session, Subject, id=who)

    _answer(runtime, flagged)
    lifecycle(T0 + 2 * EVIDENCE)
    with runtime.database.transaction(read_only=True) as session:
        assert not exists(session, ConsentRecord, id=ended)
        assert not exists(session, Rectification, id=flagged)
        assert not exists(session, Subject, id=who)
    (consents,) = [entry for entry in erasures(runtime) if entry["kind"] == "consents"]
    assert consents["rectifications"] == 1


def test_an_answered_rectification_about_a_release_by_statute_goes_with_its_person(
    runtime: Runtime, lifecycle: Run
) -> None:
    with runtime.database.transaction() as session:
        who = seed.person(session, {JC: "JC-1"}, T0)
    flagged = _rectification(runtime, who, None)

    lifecycle(T0 + 2 * EVIDENCE)
    with runtime.database.transaction(read_only=True) as session:
        assert exists(session, Subject, id=who)  # the office has not answered yet

    _answer(runtime, flagged)
    lifecycle(T0 + 2 * EVIDENCE)
    with runtime.database.transaction(read_only=True) as session:
        assert not exists(session, Rectification, id=flagged)
        assert not exists(session, Subject, id=who)
    (persons,) = [entry for entry in erasures(runtime) if entry["kind"] == "persons"]
    assert persons["rectifications"] == 1
