"""Message payloads at rest, seen as someone holding a copy of the database would: no table holds
a payload in any readable form, and a sealed payload moved to another row, or left in a row
whose metadata was changed, does not open."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from gateway.audit.events import EventType
from gateway.audit.tables import AuditEntry
from gateway.db.metadata import metadata
from gateway.messages.sealing import SealBroken, Sealed
from gateway.messages.service import associated_data
from gateway.messages.tables import Message
from gateway.runtime import Runtime
from tests.leaks import as_bytes, encodings, leaks, raw_rows
from tests.messages.conftest import (
    ABH,
    CONFERENCE,
    INVITATION_GRANT,
    JA,
    SA,
    consent_body,
    invitation,
)

Headers = Callable[[str], dict[str, str]]

OTHER_CONFERENCE = dict(
    CONFERENCE, location="Jugendamt Köln, Zimmer 0.07", topic="Schulanmeldung für Aylin"
)
SEALED = ("key_id", "wrapped_key", "nonce", "ciphertext")
METADATA = (
    "sender",
    "recipient",
    "subject_id",
    "category",
    "purpose",
    "legal_basis",
    "policy_flow",
    "consent_id",
    "consent_version",
    "created_at",
    "expires_at",
)

# What each metadata column is changed to, in tests that tamper with a stored message.
OTHER_VALUES: dict[str, Any] = {
    "id": "0b5c2a4e-7d1f-4c3a-9e8b-000000000001",
    "sender": ABH,
    "recipient": SA,
    "subject_id": "0b5c2a4e-7d1f-4c3a-9e8b-000000000002",
    "category": "case_contact",
    "purpose": "labour_market_integration",
    "legal_basis": "statute: § 69 Abs. 1 Nr. 1 SGB X",
    "policy_flow": "reference/another-flow",
    "consent_id": "0b5c2a4e-7d1f-4c3a-9e8b-000000000003",
    "consent_version": 2,
}


# -- what a copy of the database shows --------------------------------------------------------


# Words of the payloads that name the agencies themselves: their ids are metadata, not secret.
AGENCY_WORDS = {"jobcenter", "jugendamt"}


def secrets_of(payload: dict[str, Any]) -> list[str]:
    """The payload's own text (its participants are agency ids, public by nature), and each
    telling word of it on its own."""
    values = [payload["location"], payload["topic"], payload["starts_at"]]
    words = [word.strip(",") for value in values for word in value.split()]
    return values + [w for w in words if len(w) >= 6 and w.lower() not in AGENCY_WORDS]


def raw_message(runtime: Runtime, message_id: str) -> dict[str, Any]:
    (row,) = raw_rows(runtime, "messages", id=message_id)
    return row


def set_columns(runtime: Runtime, message_id: str, values: dict[str, Any]) -> None:
    """Change a stored message as someone with write access to the database would."""
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    with runtime.database.engine.begin() as connection:
        changed = connection.execute(
            text(f"UPDATE messages SET {assignments} WHERE id = :message_id"),
            {**values, "message_id": message_id},
        )
        assert changed.rowcount == 1


def audited_events(runtime: Runtime, message_id: str) -> list[str]:
    with runtime.database.transaction(read_only=True) as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [
            entry.event
            for entry in entries
            if entry.body
            and json.loads(entry.body).get("details", {}).get("message_id") == message_id
        ]


# -- the API ----------------------------------------------------------------------------------


def sent(send: Callable[..., Any], payload: dict[str, Any] = CONFERENCE) -> str:
    response = send(invitation(payload=dict(payload)))
    assert response.status_code == 202, response.text
    return str(response.json()["message_id"])


def fetch(http: TestClient, as_agency: Headers, message_id: str) -> Any:
    return http.get(f"/v1/messages/{message_id}", headers=as_agency(JA))


def assert_unreadable(response: Any, *payloads: dict[str, Any]) -> None:
    """A 500 problem that delivers nothing of any payload."""
    assert response.status_code == 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("/problems/message-unreadable")
    assert "payload" not in problem
    for payload in payloads:
        for secret in secrets_of(payload):
            assert secret not in response.text


def assert_delivers(response: Any, payload: dict[str, Any]) -> None:
    assert response.status_code == 200, response.text
    assert response.json()["payload"] == payload


# -- no plaintext at rest ---------------------------------------------------------------------


@pytest.mark.usefixtures("consent_id")
def test_a_stored_message_row_holds_no_plaintext(runtime: Runtime, send):
    message_id = sent(send)

    row = raw_message(runtime, message_id)

    assert row["state"] == "pending"
    assert row["key_id"] == runtime.sealing.active_kid()
    # The payload is there, sealed: at least its texts and the GCM tag long.
    texts = "".join(str(CONFERENCE[field]) for field in ("starts_at", "location", "topic"))
    assert len(as_bytes(row["ciphertext"])) >= len(texts.encode()) + 16
    assert leaks([row], secrets_of(CONFERENCE), "messages") == []


def test_the_leak_check_finds_a_payload_in_any_of_its_forms():
    location = str(CONFERENCE["location"])
    for form in encodings(location):
        assert leaks([{"column": form}], [location], "t") == ["t.column: " + repr(location)]
    assert leaks([{"column": b"\x00" + location.lower().encode()}], [location], "t")
    assert leaks([{"column": json.dumps(CONFERENCE)}], secrets_of(CONFERENCE), "t")
    assert leaks(
        [{"column": base64.b64encode(b"xy" + json.dumps(CONFERENCE).encode())}], [location], "t"
    )
    assert not leaks([{"column": "Jobcenter Bonn"}], [location], "t")


@pytest.mark.usefixtures("consent_id")
def test_no_table_holds_a_payload_after_sending_fetching_and_acknowledging(
    runtime: Runtime, http: TestClient, as_agency: Headers, send, caplog: pytest.LogCaptureFixture
):
    caplog.set_level("DEBUG")
    acknowledged, pending = sent(send), sent(send, OTHER_CONFERENCE)
    assert_delivers(fetch(http, as_agency, acknowledged), CONFERENCE)
    assert http.post(f"/v1/messages/{acknowledged}/ack", headers=as_agency(JA)).status_code == 200
    assert_delivers(fetch(http, as_agency, pending), OTHER_CONFERENCE)

    secrets = secrets_of(CONFERENCE) + secrets_of(OTHER_CONFERENCE)
    found = []
    for table in metadata.sorted_tables:
        found += leaks(raw_rows(runtime, table.name), secrets, table.name)

    assert found == []
    # The audit log was among what was searched, with the message's whole story in it.
    assert audited_events(runtime, acknowledged) == [
        EventType.MESSAGE_SENT.value,
        EventType.MESSAGE_FETCHED.value,
        EventType.MESSAGE_ACKNOWLEDGED.value,
    ]
    assert all(secret not in caplog.text for secret in secrets)


@pytest.mark.usefixtures("consent_id")
def test_the_sqlite_files_hold_no_plaintext(runtime: Runtime, send):
    url = make_url(runtime.settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        pytest.skip("reads the database's own files: SQLite only")
    sent(send)

    files = [f"{url.database}{suffix}" for suffix in ("", "-wal")]
    content = b"".join(Path(path).read_bytes() for path in files)

    assert len(content) > 0
    assert leaks([{"file": content}], secrets_of(CONFERENCE), "sqlite") == []


# -- a sealed payload is bound to its row -----------------------------------------------------


@pytest.mark.usefixtures("consent_id")
def test_swapped_sealed_payloads_open_in_neither_row(
    runtime: Runtime, http: TestClient, as_agency: Headers, send
):
    first, second = sent(send), sent(send, OTHER_CONFERENCE)
    rows = {message_id: raw_message(runtime, message_id) for message_id in (first, second)}

    set_columns(runtime, first, {column: rows[second][column] for column in SEALED})
    set_columns(runtime, second, {column: rows[first][column] for column in SEALED})

    assert_unreadable(fetch(http, as_agency, first), CONFERENCE, OTHER_CONFERENCE)
    assert_unreadable(fetch(http, as_agency, second), CONFERENCE, OTHER_CONFERENCE)
    assert EventType.MESSAGE_FETCHED.value not in audited_events(runtime, first)
    assert raw_message(runtime, first)["first_fetched_at"] is None

    # Put back where they belong, both open again: it was the swap that broke them.
    for message_id, row in rows.items():
        set_columns(runtime, message_id, {column: row[column] for column in SEALED})
    assert_delivers(fetch(http, as_agency, first), CONFERENCE)
    assert_delivers(fetch(http, as_agency, second), OTHER_CONFERENCE)


@pytest.fixture
def wider_consent(http: TestClient, as_agency: Headers) -> str:
    """The invitation grant, and the same from the foreigners' office: a message whose sender
    is changed to it still passes the policy and consent check at fetch."""
    grants = [INVITATION_GRANT, dict(INVITATION_GRANT, **{"from": ABH})]
    response = http.post("/v1/consents", json=consent_body(grants), headers=as_agency(ABH))
    assert response.status_code == 201, response.text
    return str(response.json()["consent_id"])


@pytest.mark.usefixtures("wider_consent")
# Changes the check at fetch still permits (the same flow covers both categories, the wider
# consent both senders), so only the seal can refuse them. The reference policies allow case
# conferences for one purpose only: a changed purpose is refused by that check first (410), so
# the purpose's binding is proven below, on the seal itself.
@pytest.mark.parametrize(
    "column", ["category", "sender", "legal_basis", "policy_flow", "consent_version"]
)
def test_a_message_whose_metadata_was_changed_does_not_open(
    runtime: Runtime, http: TestClient, as_agency: Headers, send, column: str
):
    message_id = sent(send)
    original = raw_message(runtime, message_id)[column]
    assert original != OTHER_VALUES[column]

    set_columns(runtime, message_id, {column: OTHER_VALUES[column]})
    assert_unreadable(fetch(http, as_agency, message_id), CONFERENCE)

    set_columns(runtime, message_id, {column: original})
    assert_delivers(fetch(http, as_agency, message_id), CONFERENCE)


@pytest.mark.usefixtures("consent_id")
def test_a_sealed_payload_copied_to_a_row_of_another_id_does_not_open(
    runtime: Runtime, http: TestClient, as_agency: Headers, send
):
    message_id = sent(send)
    copy = OTHER_VALUES["id"]
    set_columns(runtime, message_id, {"id": copy})

    assert_unreadable(fetch(http, as_agency, copy), CONFERENCE)


@pytest.mark.usefixtures("consent_id")
@pytest.mark.parametrize("field", list(OTHER_VALUES))
def test_every_field_of_the_metadata_is_bound_to_the_payload(runtime: Runtime, send, field: str):
    message_id = sent(send)
    with runtime.database.transaction(read_only=True) as session:
        stored = session.get(Message, message_id)
        assert stored is not None
        columns = {column.key: getattr(stored, column.key) for column in Message.__table__.columns}
    sealed = Sealed(*(columns[column] for column in SEALED))
    assert runtime.sealing.open(sealed, associated_data(Message(**columns)))

    with pytest.raises(SealBroken):
        runtime.sealing.open(
            sealed, associated_data(Message(**{**columns, field: OTHER_VALUES[field]}))
        )


# -- acknowledged: the payload goes, the metadata stays ---------------------------------------


@pytest.mark.usefixtures("consent_id")
def test_an_acknowledged_message_keeps_its_metadata_and_loses_its_payload(
    runtime: Runtime, http: TestClient, as_agency: Headers, send
):
    message_id = sent(send)
    before = raw_message(runtime, message_id)

    assert http.post(f"/v1/messages/{message_id}/ack", headers=as_agency(JA)).status_code == 200

    after = raw_message(runtime, message_id)
    assert all(before[column] is not None for column in SEALED)
    assert {column: after[column] for column in SEALED} == dict.fromkeys(SEALED)
    assert {column: after[column] for column in METADATA} == {
        column: before[column] for column in METADATA
    }
    assert after["state"] == "acknowledged"
    assert after["closed_at"] is not None
