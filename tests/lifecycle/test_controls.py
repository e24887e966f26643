"""The lifecycle erases nothing of a person a DPO restricted or put on a legal hold, and
everything of theirs that is due once both are lifted; an erasure on request is refused,
with every reason, while something of theirs must be kept, and then changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from gateway.audit.service import decode
from gateway.audit.tables import AuditEntry
from gateway.lifecycle.service import Kind, Report
from gateway.persons import service
from gateway.persons.service import Action, Erased, Refusal, Refused
from gateway.runtime import Runtime
from tests.lifecycle import seed
from tests.lifecycle.seed import JC

T0 = datetime(2025, 1, 1, tzinfo=UTC)
LATER = T0 + timedelta(days=5 * 365)  # every period has run out
Run = Callable[..., Report]


def _ended_person(runtime: Runtime, reference: str) -> str:
    """A person whose consent ended long ago, with a ledger row and a closed message."""
    with runtime.database.transaction() as session:
        who = seed.person(session, {JC: reference}, T0)
        consent = seed.consent(
            session, who, recorded_at=T0, valid_until=T0 + timedelta(days=30), withdrawn_at=T0
        )
        seed.release(session, who, T0, consent_id=consent)
        seed.message(session, who, T0, closed_at=T0, consent_id=consent)
    return who


def _control(runtime: Runtime, action: Action, reference: str) -> None:
    service.control(runtime.database, runtime.audit, action, agency=JC, reference=reference,
                    actor="anna.schmidt", note="litigation 4 O 17/25", now=T0)  # fmt: skip


def _counts(runtime: Runtime) -> dict[str, int]:
    with runtime.database.transaction(read_only=True) as session:
        return seed.counts(session)


def test_the_lifecycle_skips_restricted_and_held_persons_until_both_are_lifted(
    runtime: Runtime, lifecycle: Run
) -> None:
    restricted = _ended_person(runtime, "JC-restricted")
    held = _ended_person(runtime, "JC-held")
    free = _ended_person(runtime, "JC-free")
    _control(runtime, Action.RESTRICT, "JC-restricted")
    _control(runtime, Action.HOLD, "JC-held")
    _control(runtime, Action.HOLD, "JC-restricted")

    report = lifecycle(LATER)
    assert report.erased[Kind.PERSONS] == 1
    assert report.erased[Kind.CONSENTS] == 1
    assert report.erased[Kind.RELEASES] == 1
    assert report.erased[Kind.MESSAGES] == 1
    with runtime.database.transaction(read_only=True) as session:
        assert not seed.exists(session, seed.Subject, id=free)
        assert seed.exists(session, seed.Subject, id=restricted)
        assert seed.exists(session, seed.Subject, id=held)

    _control(runtime, Action.RELEASE_HOLD, "JC-held")
    _control(runtime, Action.RELEASE_HOLD, "JC-restricted")  # still restricted
    lifecycle(LATER)
    with runtime.database.transaction(read_only=True) as session:
        assert not seed.exists(session, seed.Subject, id=held)
        assert seed.exists(session, seed.Subject, id=restricted)
    _control(runtime, Action.UNRESTRICT, "JC-restricted")
    lifecycle(LATER)
    assert _counts(runtime)["subjects"] == 0
    assert _counts(runtime)["subject_controls"] == 0


@pytest.mark.parametrize(
    ("setup", "reasons"),
    [
        ("active", [Refusal.ACTIVE_CONSENT]),
        ("hold", [Refusal.LEGAL_HOLD]),
        ("restrict", [Refusal.PROCESSING_RESTRICTED]),
        ("notice", [Refusal.NOTICE_UNANSWERED]),
        ("message", [Refusal.MESSAGE_PENDING]),
        ("rectification", [Refusal.RECTIFICATION_UNANSWERED]),
        ("emergency", [Refusal.EMERGENCY_RECORD]),
        ("everything", list(Refusal)),
    ],
)
def test_an_erasure_is_refused_with_each_reason_and_changes_nothing(
    runtime: Runtime, offices: None, setup: str, reasons: list[Refusal]
) -> None:
    who = _ended_person(runtime, "JC-1")
    with runtime.database.transaction() as session:
        ended = seed.consent(session, who, recorded_at=T0, valid_until=T0, withdrawn_at=T0)
        if setup in ("active", "everything"):
            seed.consent(session, who, recorded_at=T0, valid_until=LATER)
        if setup in ("notice", "everything"):
            seed.notice(session, ended, T0, acknowledged_at=None)
        if setup in ("message", "everything"):
            seed.message(session, who, T0, closed_at=None)
        if setup in ("rectification", "everything"):
            seed.rectification(session, who, T0, consent_id=ended)
        if setup in ("emergency", "everything"):
            seed.emergency(session, who, T0, reviewed_at=T0)
    if setup in ("hold", "everything"):
        _control(runtime, Action.HOLD, "JC-1")
    if setup in ("restrict", "everything"):
        _control(runtime, Action.RESTRICT, "JC-1")
    before = _counts(runtime)

    outcome = service.erase(runtime.database, runtime.audit, agency=JC, reference="JC-1",
                            actor="anna.schmidt", now=T0 + timedelta(days=1))  # fmt: skip

    assert isinstance(outcome, Refused)
    assert outcome.reasons == reasons
    assert _counts(runtime) == before
    assert [
        entry["details"]["reasons"] for entry in _entries(runtime, "subject.erasure_refused")
    ] == [" ".join(reason.value for reason in reasons)]


def test_an_erasure_without_anything_to_keep_takes_everything_of_the_person_and_nothing_else(
    runtime: Runtime, offices: None
) -> None:
    who = _ended_person(runtime, "JC-1")
    other = _ended_person(runtime, "JC-2")
    with runtime.database.transaction() as session:
        ended = seed.consent(session, who, recorded_at=T0, valid_until=T0, withdrawn_at=T0)
        seed.notice(session, ended, T0, acknowledged_at=T0)
        seed.release(session, who, T0)  # under a statute, no consent
    before = _counts(runtime)

    outcome = service.erase(runtime.database, runtime.audit, agency=JC, reference="JC-1",
                            actor="anna.schmidt", now=T0 + timedelta(days=1))  # fmt: skip

    assert isinstance(outcome, Erased)
    after = _counts(runtime)
    assert after["subjects"] == before["subjects"] - 1
    assert after["consents"] == before["consents"] - 2
    assert after["releases"] == before["releases"] - 2
    assert after["messages"] == before["messages"] - 1
    assert after["withdrawal_notices"] == 0
    assert after["subject_references"] == 1
    with runtime.database.transaction(read_only=True) as session:
        assert seed.exists(session, seed.Subject, id=other)
        assert not seed.exists(session, seed.Subject, id=who)
    (entry,) = _entries(runtime, "subject.erased")
    pseudonym = runtime.audit.pseudonymizer.pseudonym(who)
    assert entry["subject"] == pseudonym
    assert entry["details"]["subjects"] == pseudonym
    assert entry["details"]["consents"] == 2
    assert entry["details"]["releases"] == 2
    assert "JC-1" not in str(entry)
    assert who not in str(entry)


def _entries(runtime: Runtime, event: str) -> list[dict[str, Any]]:
    with runtime.database.transaction(read_only=True) as session:
        bodies = session.scalars(
            select(AuditEntry.body).where(AuditEntry.event == event).order_by(AuditEntry.id)
        )
        return [decode(body) for body in bodies if body]
