"""Recording and publishing: entries commit with their change, carry no readable personal data,
stay append-only, and end up in the tree under a signed checkpoint."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime

import pytest
import rfc8785
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from consent.vocabulary import Category, Purpose
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.audit.notes import verify_checkpoint
from gateway.audit.service import AuditStateError
from gateway.audit.tables import AuditCheckpoint, AuditEntry, AuditLeaf, AuditPending
from gateway.audit.verify import Report, verify_stored
from gateway.runtime import Runtime
from tests.audit.rfc6962 import mth
from tests.audit.tampering import query, tamper

SUBJECT = "3f1c2b9e-8d7a-4c55-9e61-0d2f4b7a1c90"
REFERENCE = "AZ-2026-0042"
NAME = "Ayşe Yılmaz"


def decision(subject: str = SUBJECT, **changes) -> AuditEvent:
    fields = {
        "actor": "koeln-jobcenter",
        "requester": "koeln-jobcenter",
        "provider": "koeln-auslaenderbehoerde",
        "caseworker": "cw-17",
        "subject_id": subject,
        "categories": (Category.RESIDENCE_STATUS.value,),
        "purpose": Purpose.LABOUR_MARKET_INTEGRATION.value,
        "decision": Decision.PERMIT,
        "legal_basis": "consent",
        "consent_id": "c-1",
        "consent_version": 1,
        "payload": json.dumps({"name": NAME, "file": REFERENCE}).encode(),
        "request_id": "req-00000001",
    } | changes
    return AuditEvent(EventType.EXCHANGE_DECIDED, **fields)


def record(runtime: Runtime, *events: AuditEvent) -> None:
    with runtime.database.transaction() as session:
        for event in events:
            runtime.audit.record(session, event)


def check(runtime: Runtime) -> Report:
    with runtime.database.transaction(read_only=True) as session:
        return verify_stored(session, runtime.audit.verifier)


def count(runtime: Runtime, table) -> int:
    with runtime.database.transaction(read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_an_entry_commits_with_its_transaction(runtime: Runtime):
    record(runtime, decision())
    assert count(runtime, AuditEntry) == count(runtime, AuditPending) == 1


def test_an_entry_vanishes_with_a_rolled_back_transaction(runtime: Runtime):
    def failing_change() -> None:
        with runtime.database.transaction() as session:
            runtime.audit.record(session, decision())
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert count(runtime, AuditEntry) == 0


def test_an_entry_is_canonical_json_with_the_recorded_fields(runtime: Runtime):
    moment = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    with runtime.database.transaction() as session:
        runtime.audit.record(session, decision(), now=moment)
    with runtime.database.transaction(read_only=True) as session:
        body = session.scalar(select(AuditEntry.body))
    parsed = json.loads(body)
    assert rfc8785.dumps(parsed).decode() == body
    assert parsed["v"] == 2
    assert parsed["time"] == "2026-11-25T09:30:00.000000Z"
    assert parsed["event"] == "exchange.decided"
    assert parsed["decision"] == "permit"
    assert parsed["categories"] == ["residence_status"]
    assert parsed["consent_version"] == 1
    payload = json.dumps({"name": NAME, "file": REFERENCE}).encode()
    assert runtime.audit.payload_matches(parsed, payload)
    assert "payload_sha256" not in parsed


def test_a_payload_appears_only_as_a_keyed_digest_of_that_entry(runtime: Runtime):
    payload = json.dumps({"title": "toleration"}).encode()
    moment = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    bodies = [
        runtime.audit.body_of(decision(subject, payload=payload), at)
        for subject, at in [
            (SUBJECT, moment),
            ("another-subject", moment),  # another person, the same document
            (SUBJECT, moment.replace(minute=31)),  # the same person asked again
        ]
    ]
    digests = [body["payload_hmac"] for body in bodies]
    assert len(set(digests)) == 3  # equal documents link nothing
    key_id, digest = digests[0].split(":")
    assert key_id == runtime.audit.digests.active().kid
    assert digest != hashlib.sha256(payload).hexdigest()  # not found by hashing guesses
    assert all(runtime.audit.payload_matches(body, payload) for body in bodies)
    other = json.dumps({"title": "residence_permit"}).encode()
    assert not runtime.audit.payload_matches(bodies[0], other)
    # An entry moved to another person or time no longer matches its own document.
    assert not runtime.audit.payload_matches(bodies[0] | {"subject": bodies[1]["subject"]}, payload)
    assert not runtime.audit.payload_matches(bodies[0] | {"time": bodies[2]["time"]}, payload)


def test_a_version_1_entry_keeps_its_plain_digest_checkable(runtime: Runtime):
    payload = b'{"title":"toleration"}'
    old = {"v": 1, "time": "2026-01-01T00:00:00.000000Z", "event": "exchange.decided",
           "payload_sha256": hashlib.sha256(payload).hexdigest()}  # fmt: skip
    assert runtime.audit.payload_matches(old, payload)
    assert not runtime.audit.payload_matches(old, b'{"title":"none"}')
    assert not runtime.audit.payload_matches({"v": 2, "time": old["time"]}, payload)


def test_a_caseworker_appears_only_as_a_pseudonym_keyed_per_acting_agency(runtime: Runtime):
    at_jobcenter = runtime.audit.body_of(decision(), datetime.now(UTC))
    again = runtime.audit.body_of(decision(request_id="req-2"), datetime.now(UTC))
    at_abh = runtime.audit.body_of(
        decision(actor="koeln-auslaenderbehoerde", requester="koeln-auslaenderbehoerde"),
        datetime.now(UTC),
    )
    assert at_jobcenter["caseworker"] == again["caseworker"]  # one caseworker, one pseudonym
    assert at_jobcenter["caseworker"] != at_abh["caseworker"]  # equal ids do not link
    key_id, digest = at_jobcenter["caseworker"].split(":")
    assert key_id == runtime.audit.digests.active().kid
    assert len(digest) == 64
    record(runtime, decision())
    rows = query(runtime.settings.database_url, "SELECT * FROM audit_entries")
    assert rows
    assert not [row for row in rows if "cw-17" in repr(tuple(row))]


def test_subjects_appear_only_as_keyed_pseudonyms(runtime: Runtime):
    pseudonymizer = runtime.audit.pseudonymizer
    first = pseudonymizer.pseudonym(SUBJECT)
    assert first == pseudonymizer.pseudonym(SUBJECT)
    assert first != pseudonymizer.pseudonym("another-subject")
    key_id, digest = first.split(":")
    assert key_id == pseudonymizer.key_id
    assert len(digest) == 64
    assert SUBJECT not in first
    # Keyed: without the key (which lives in the key folder) the pseudonym cannot be recomputed.
    assert digest != hashlib.sha256(SUBJECT.encode()).hexdigest()


def test_no_audit_row_holds_a_reference_a_name_or_a_payload_value(runtime: Runtime):
    record(runtime, decision(), decision(decision=Decision.DENY, reason="no_consent"))
    runtime.audit.publish(runtime.database)
    dumped = []
    for table in ("audit_entries", "audit_leaves", "audit_nodes", "audit_checkpoints"):
        dumped += [
            repr(tuple(row))
            for row in query(runtime.settings.database_url, f"SELECT * FROM {table}")
        ]
    everything = "\n".join(dumped)
    assert len(dumped) > 4  # the log is not empty
    for secret in (SUBJECT, REFERENCE, NAME, "Ayşe", "Yılmaz"):
        assert secret not in everything


def test_publishing_places_every_entry_and_signs_the_head(runtime: Runtime):
    record(runtime, *(decision(request_id=f"req-{n:08d}") for n in range(7)))
    published = runtime.audit.publish(runtime.database)
    assert published.size == 7
    checkpoint = verify_checkpoint(published.note, runtime.audit.verifier)
    with runtime.database.transaction(read_only=True) as session:
        bodies = [
            row.body.encode()
            for row in session.scalars(
                select(AuditEntry)
                .join(AuditLeaf, AuditLeaf.entry_id == AuditEntry.id)
                .order_by(AuditLeaf.seq)
            )
        ]
    assert checkpoint.root == mth(bodies)
    assert count(runtime, AuditPending) == 0


def test_publishing_in_small_batches_gives_the_same_tree(runtime: Runtime):
    record(runtime, *(decision(request_id=f"req-{n:08d}") for n in range(10)))
    published = runtime.audit.publish(runtime.database, batch=3)
    assert published.size == 10
    assert count(runtime, AuditLeaf) == 10


def test_publishing_without_new_entries_signs_nothing_new(runtime: Runtime):
    record(runtime, decision())
    first = runtime.audit.publish(runtime.database)
    again = runtime.audit.publish(runtime.database)
    assert again == first
    assert count(runtime, AuditCheckpoint) == 1


def test_an_empty_log_gets_a_checkpoint_of_size_zero(runtime: Runtime):
    published = runtime.audit.publish(runtime.database)
    assert published.size == 0
    assert verify_checkpoint(published.note, runtime.audit.verifier).root == mth([])


def test_a_tampered_sequencer_state_stops_signing(runtime: Runtime):
    record(runtime, decision())
    runtime.audit.publish(runtime.database)
    tamper(runtime.settings.database_url, "UPDATE audit_state SET size = 5")
    record(runtime, decision())
    with pytest.raises(AuditStateError):
        runtime.audit.publish(runtime.database)
    assert count(runtime, AuditCheckpoint) == 1


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("NULL", "no_content"),  # emptied before the sequencer came round
        (f"'{NAME}'", "not_an_entry"),  # not an entry's JSON
        ("'[1, 2]'", "not_an_entry"),
    ],
)
def test_a_waiting_row_that_is_no_entry_is_set_aside_and_the_log_goes_on(
    runtime: Runtime, caplog: pytest.LogCaptureFixture, content: str, problem: str
):
    record(runtime, decision(), decision(), decision())
    ((bad,),) = query(
        runtime.settings.database_url, "SELECT entry_id FROM audit_pending ORDER BY entry_id"
    )[1:2]
    tamper(
        runtime.settings.database_url, f"UPDATE audit_entries SET body = {content} WHERE id = {bad}"
    )

    with caplog.at_level("WARNING", logger="gateway.audit.service"):
        published = runtime.audit.publish(runtime.database)
    # The two good entries and the record of the set-aside row, all placed and signed.
    assert published.size == count(runtime, AuditLeaf) == 3
    assert count(runtime, AuditPending) == 0
    with runtime.database.transaction(read_only=True) as session:
        placed = session.scalars(select(AuditLeaf.entry_id).order_by(AuditLeaf.seq)).all()
        bodies = {e.id: e.body for e in session.scalars(select(AuditEntry))}
    assert bad not in placed
    noted = json.loads(bodies[placed[-1]])
    assert noted["event"] == EventType.AUDIT_ENTRY_SET_ASIDE.value
    assert noted["details"] == {"entry_id": bad, "problem": problem}
    (warning,) = [r for r in caplog.records if r.name == "gateway.audit.service"]
    assert f"audit entry {bad} set aside: {problem}" in warning.getMessage()
    assert NAME not in caplog.text

    record(runtime, decision())  # and the log goes on
    assert runtime.audit.publish(runtime.database).size == 4
    report = check(runtime)
    assert report.problems == [
        f"entry id {bad} is not part of the log (inserted from outside, or set aside by the "
        "sequencer as unreadable)"
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET decision = 'deny'",
        "UPDATE audit_entries SET body = NULL",  # pruning the body alone, keeping its copies
        "DELETE FROM audit_entries",
        "UPDATE audit_leaves SET seq = seq + 1",
        "DELETE FROM audit_leaves",
        "UPDATE audit_nodes SET hash = hash",
        "DELETE FROM audit_nodes",
        "UPDATE audit_checkpoints SET note = 'x'",
        "DELETE FROM audit_checkpoints",
    ],
)
def test_the_database_refuses_to_change_or_delete_audit_rows(runtime: Runtime, statement: str):
    record(runtime, decision(), decision(), decision())
    runtime.audit.publish(runtime.database)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        runtime.database.transaction() as session,
    ):
        session.execute(text(statement))


def test_the_database_refuses_to_truncate_the_log_on_postgresql(runtime: Runtime):
    if not runtime.settings.database_url.startswith("postgresql"):
        pytest.skip("TRUNCATE is PostgreSQL's")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        runtime.database.transaction() as session,
    ):
        session.execute(text("TRUNCATE audit_leaves"))


def test_the_background_publisher_signs_new_entries(settings, tmp_path):
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    runtime = Runtime.start(settings.model_copy(update={"audit_checkpoint_interval": 0.05}))
    try:
        record(runtime, decision())
        with TestClient(create_app(runtime=runtime)):
            deadline = time.monotonic() + 30
            while count(runtime, AuditLeaf) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
        assert count(runtime, AuditLeaf) == 1
        assert count(runtime, AuditCheckpoint) >= 1
    finally:
        runtime.database.dispose()
