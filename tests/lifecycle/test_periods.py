"""Each period erases exactly what it should, at its boundary, and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gateway.consents.notices_tables import WithdrawalNotice
from gateway.consents.tables import (
    ConsentParty,
    ConsentPermission,
    ConsentRecord,
    ConsentVersion,
    PortalCode,
)
from gateway.lifecycle.service import Kind, Report
from gateway.messages.tables import Message
from gateway.release.tables import Release
from gateway.runtime import Runtime
from gateway.subjects.tables import Subject, SubjectReference
from gateway.web.tables import LoginFailures, WebSession
from tests.lifecycle import seed
from tests.lifecycle.conftest import erasures
from tests.lifecycle.seed import ABH, JC, LONGEST_FLOW_DAYS, exists

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)
EVIDENCE = timedelta(days=1095)  # GATEWAY_CONSENT_EVIDENCE_DAYS' default
Run = Callable[..., Report]


def test_ledger_rows_go_when_their_flows_retention_has_passed(
    runtime: Runtime, lifecycle: Run
) -> None:
    with runtime.database.transaction() as session:
        who = seed.person(session, {JC: "JC-1"}, T0)
        keeper = seed.consent(session, who, recorded_at=T0, valid_until=T0 + 4 * EVIDENCE)
        residence = seed.release(session, who, T0)  # 180 days
        contacts = seed.release(session, who, T0, flow=seed.CONTACTS_FLOW)  # 90 days
        gone_flow = seed.release(session, who, T0, flow="reference/a-flow-since-removed")
        unnamed = seed.release(session, who, T0, flow=None)

    report = lifecycle(T0 + timedelta(days=90))  # exactly 90 days: not yet past
    assert report.erased[Kind.RELEASES] == 0
    lifecycle(T0 + timedelta(days=90) + SECOND)
    with runtime.database.transaction(read_only=True) as session:
        assert not exists(session, Release, id=contacts)
        assert exists(session, Release, id=residence)
    lifecycle(T0 + timedelta(days=180) + SECOND)
    with runtime.database.transaction(read_only=True) as session:
        assert not exists(session, Release, id=residence)
        # Rows of flows the active set does not have wait for its longest retention.
        assert exists(session, Release, id=gone_flow)
        assert exists(session, Release, id=unnamed)
    lifecycle(T0 + timedelta(days=LONGEST_FLOW_DAYS) + SECOND)
    with runtime.database.transaction(read_only=True) as session:
        assert not exists(session, Release, id=gone_flow)
        assert not exists(session, Release, id=unnamed)
        # The person's consent is active: they and it stay.
        assert exists(session, Subject, id=who)
        assert exists(session, ConsentRecord, id=keeper)
    assert [entry["rows"] for entry in erasures(runtime)] == [1, 1, 2]
    assert all(entry["kind"] == "releases" for entry in erasures(runtime))


def test_a_closed_messages_metadata_goes_after_its_period_and_a_pending_one_stays(
    runtime: Runtime, lifecycle: Run
) -> None:
    with runtime.database.transaction() as session:
        who = seed.person(session, {JC: "JC-1"}, T0)
        seed.consent(session, who, recorded_at=T0, valid_until=T0 + 4 * EVIDENCE)
        closed = seed.message(session, who, T0, closed_at=T0 + timedelta(days=1))
        pending = seed.message(session, who, T0, closed_at=None)

    assert lifecycle(T0 + timedelta(days=91)).erased[Kind.MESSAGES] == 0  # 90 after closing
    assert lifecycle(T0 + timedelta(days=91) + SECOND).erased[Kind.MESSAGES] == 1
    with runtime.database.transaction(read_only=True) as session:
        assert not exists(session, Message, id=closed)
        assert exists(session, Message, id=pending)


def test_an_ended_consents_record_and_evidence_go_after_the_proof_period(
    runtime: Runtime, lifecycle: Run
) -> None:
    withdrawn_at = T0 + timedelta(days=10)
    with runtime.database.transaction() as session:
        who = seed.person(session, {JC: "JC-1", ABH: "ABH-1"}, T0)
        ended = seed.consent(
            session, who, recorded_at=T0, valid_until=T0 + EVIDENCE, withdrawn_at=withdrawn_at
        )
        seed.notice(session, ended, withdrawn_at, acknowledged_at=withdrawn_at + SECOND)
        other = seed.person(session, {JC: "JC-2"}, T0)
        expired = seed.consent(session, other, recorded_at=T0, valid_until=T0 + timedelta(days=5))

    before = lifecycle(withdrawn_at + EVIDENCE)
    assert before.erased[Kind.CONSENTS] == 1  # the expired one, ended five days earlier
    with runtime.database.transaction(read_only=True) as session:
        assert exists(session, ConsentRecord, id=ended)
        assert not exists(session, ConsentRecord, id=expired)
        assert not exists(session, Subject, id=other)  # nothing of theirs left
        assert exists(session, Subject, id=who)

    lifecycle(withdrawn_at + EVIDENCE + SECOND)
    with runtime.database.transaction(read_only=True) as session:
        for table in (ConsentVersion, ConsentPermission, ConsentParty, PortalCode):
            assert not exists(session, table, consent_id=ended), table.__tablename__
        assert not exists(session, WithdrawalNotice, consent_id=ended)
        assert not exists(session, ConsentRecord, id=ended)
        assert not exists(session, Subject, id=who)
        assert not exists(session, SubjectReference, subject_id=who)
    first, second = [entry for entry in erasures(runtime) if entry["kind"] == "consents"]
    assert first["consent_ids"] == expired
    assert first["versions"] == 1
    assert second == {
        "kind": "consents",
        "consents": 1,
        "versions": 1,
        "permissions": 1,
        "parties": 2,
        "portal_codes": 1,
        "portal_sessions": 0,
        "notices": 1,
        "rectifications": 0,
        "persons": 1,
        "consent_ids": ended,
    }
    persons = [entry for entry in erasures(runtime) if entry["kind"] == "persons"]
    assert [entry["persons"] for entry in persons] == [1, 1]
    assert [entry["references"] for entry in persons] == [1, 2]
    assert persons[1]["subjects"] == runtime.audit.pseudonymizer.pseudonym(who)


def test_an_unanswered_withdrawal_notice_keeps_its_consent_and_person(
    runtime: Runtime, lifecycle: Run
) -> None:
    with runtime.database.transaction() as session:
        who = seed.person(session, {JC: "JC-1"}, T0)
        ended = seed.consent(session, who, recorded_at=T0, valid_until=T0 + EVIDENCE,
                             withdrawn_at=T0)  # fmt: skip
        notice = seed.notice(session, ended, T0, acknowledged_at=None)

    lifecycle(T0 + 2 * EVIDENCE)
    with runtime.database.transaction(read_only=True) as session:
        assert exists(session, ConsentRecord, id=ended)
        assert exists(session, Subject, id=who)
    with runtime.database.transaction() as session:
        session.get(WithdrawalNotice, notice).acknowledged_at = T0 + EVIDENCE  # type: ignore[union-attr]
    lifecycle(T0 + 2 * EVIDENCE)
    with runtime.database.transaction(read_only=True) as session:
        assert not exists(session, ConsentRecord, id=ended)
        assert not exists(session, Subject, id=who)


def test_a_person_with_one_ended_and_one_active_consent_keeps_the_active_one(
    runtime: Runtime, lifecycle: Run
) -> None:
    with runtime.database.transaction() as session:
        who = seed.person(session, {JC: "JC-1", ABH: "ABH-1"}, T0)
        ended = seed.consent(session, who, recorded_at=T0, valid_until=T0 + timedelta(days=30))
        active = seed.consent(
            session, who, recorded_at=T0 + timedelta(days=20), valid_until=T0 + 5 * EVIDENCE
        )

    lifecycle(T0 + 2 * EVIDENCE)
    with runtime.database.transaction(read_only=True) as session:
        assert not exists(session, ConsentRecord, id=ended)
        assert not exists(session, ConsentVersion, consent_id=ended)
        assert exists(session, ConsentRecord, id=active)
        for table in (ConsentVersion, ConsentPermission, ConsentParty, PortalCode):
            assert exists(session, table, consent_id=active), table.__tablename__
        assert exists(session, Subject, id=who)
        assert exists(session, SubjectReference, subject_id=who, agency_id=JC)
        assert exists(session, SubjectReference, subject_id=who, agency_id=ABH)
    assert [entry["kind"] for entry in erasures(runtime)] == ["consents"]


def test_a_person_stays_while_a_ledger_row_or_message_of_theirs_is_kept(
    runtime: Runtime, lifecycle: Run
) -> None:
    with runtime.database.transaction() as session:
        who = seed.person(session, {JC: "JC-1"}, T0)
        seed.consent(session, who, recorded_at=T0, valid_until=T0 + timedelta(days=1))
        seed.release(session, who, T0 + 4 * EVIDENCE)
        other = seed.person(session, {JC: "JC-2"}, T0)
        seed.consent(session, other, recorded_at=T0, valid_until=T0 + timedelta(days=1))
        seed.message(session, other, T0, closed_at=T0 + 4 * EVIDENCE)

    report = lifecycle(T0 + 4 * EVIDENCE + timedelta(days=1))
    assert report.erased[Kind.CONSENTS] == 2
    assert report.erased[Kind.PERSONS] == 0
    with runtime.database.transaction(read_only=True) as session:
        assert exists(session, Subject, id=who)
        assert exists(session, Subject, id=other)
    report = lifecycle(T0 + 5 * EVIDENCE)
    assert report.erased[Kind.RELEASES] == report.erased[Kind.MESSAGES] == 1
    assert report.erased[Kind.PERSONS] == 2


def test_page_sessions_and_sign_in_failures_go_when_they_can_no_longer_be_used(
    runtime: Runtime, lifecycle: Run
) -> None:
    now = datetime.now(UTC)
    with runtime.database.transaction() as session:
        seed.page_session(session, now - timedelta(hours=1), now - timedelta(minutes=16))
        seed.page_session(session, now - timedelta(hours=9), now)
        live = seed.page_session(session, now - timedelta(hours=1), now - timedelta(minutes=14))
        seed.sign_in_failures(session, now - timedelta(minutes=16))
        counting = seed.sign_in_failures(session, now - timedelta(minutes=14))
        locked = seed.sign_in_failures(
            session, now - timedelta(minutes=16), locked_until=now + timedelta(minutes=1)
        )

    report = lifecycle(now)
    assert report.erased[Kind.SESSIONS] == 2
    assert report.erased[Kind.SIGN_IN_FAILURES] == 1
    with runtime.database.transaction(read_only=True) as session:
        assert {row.token_hash for row in session.query(WebSession)} == {live}
        assert {row.key for row in session.query(LoginFailures)} == {counting, locked}
    assert erasures(runtime) == []  # no person's data: swept, not audited


def test_a_second_run_finds_nothing_more_to_do(runtime: Runtime, lifecycle: Run) -> None:
    with runtime.database.transaction() as session:
        who = seed.person(session, {JC: "JC-1"}, T0)
        seed.consent(session, who, recorded_at=T0, valid_until=T0 + timedelta(days=1))
        seed.release(session, who, T0)
    assert lifecycle(T0 + 2 * EVIDENCE).total == 3  # the row, the consent, the person
    entries = len(erasures(runtime))
    assert lifecycle(T0 + 2 * EVIDENCE).total == 0
    assert len(erasures(runtime)) == entries
