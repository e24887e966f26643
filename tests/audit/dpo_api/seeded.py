"""The seeded audit log the DPO-side API tests share: three agencies of Köln, two persons,
eight decisions, a DPO token, and helpers to read the API."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.audit.tables import AuditEntry
from gateway.runtime import Runtime
from gateway.subjects.tables import Subject, SubjectReference
from tests.support import RegisteredClient, client_assertion, token_form

TOKEN_ENDPOINT = "http://localhost/oauth/token"
PROBLEM = "application/problem+json"
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)

JOBCENTER, ABH, SOZIALAMT = "koeln-jobcenter", "koeln-abh", "koeln-sozialamt"

# Each person's file reference at each agency; none of them may ever appear in an audit answer.
REFERENCES = {
    "amina": {JOBCENTER: "JC-2024-000117", ABH: "ABH-K-55-0931", SOZIALAMT: "SOZ/2023/4471"},
    "oleksandr": {JOBCENTER: "JC-2024-000342", SOZIALAMT: "SOZ/2024/0008"},
}


# -- helpers ---------------------------------------------------------------------------------


def token_for(http: TestClient, client: RegisteredClient, scope: str | None = None) -> str:
    form = token_form(client_assertion(client.id, client.key, TOKEN_ENDPOINT), scope=scope)
    response = http.post("/oauth/token", data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: Any, status: int, problem_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == problem_type
    assert body["status"] == status
    return body


def add_subject(runtime: Runtime, references: dict[str, str]) -> str:
    subject_id = str(uuid.uuid4())
    with runtime.database.transaction() as session:
        session.add(Subject(id=subject_id, created_at=datetime.now(UTC)))
        session.flush()
        for agency, reference in references.items():
            session.add(
                SubjectReference(agency_id=agency, reference=reference, subject_id=subject_id)
            )
    return subject_id


def decision(
    request_id: str,
    requester: str,
    provider: str,
    categories: tuple[str, ...],
    purpose: str,
    outcome: Decision,
    *,
    reason: str | None = None,
    subject_id: str | None = None,
    consent_id: str | None = None,
) -> AuditEvent:
    return AuditEvent(
        EventType.EXCHANGE_DECIDED,
        requester=requester,
        provider=provider,
        caseworker="cw-7f3a",
        subject_id=subject_id,
        categories=categories,
        purpose=purpose,
        decision=outcome,
        reason=reason,
        legal_basis="consent" if outcome is Decision.PERMIT else None,
        consent_id=consent_id,
        consent_version=1 if consent_id else None,
        payload=b'{"title":"residence_permit"}' if outcome is Decision.PERMIT else None,
        request_id=request_id,
    )


def unsubjected_denial(request_id: str) -> AuditEvent:
    return decision(
        request_id, ABH, JOBCENTER, ("case_contact",), "case_management", Decision.DENY,
        reason="no_consent",
    )  # fmt: skip


def record(runtime: Runtime, *events: tuple[AuditEvent, datetime]) -> None:
    with runtime.database.transaction() as session:
        for event, moment in events:
            runtime.audit.record(session, event, now=moment)


def publish(runtime: Runtime) -> int:
    return runtime.audit.publish(runtime.database).size


def all_entry_ids(runtime: Runtime) -> list[int]:
    with runtime.database.transaction(read_only=True) as session:
        return list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))


def canonical_leaf(entry: dict[str, Any]) -> bytes:
    """The leaf data of an exported entry: its RFC 8785 canonical JSON."""
    return bytes(rfc8785.dumps(entry))


def hand_verified_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes]:
    """Check a signed checkpoint as C2SP signed-note and tlog-checkpoint describe it, with
    nothing but the vkey and ``cryptography``; return (origin, size, root)."""
    name, key_hash, encoded_key = vkey.strip().split("+", 2)
    key = base64.b64decode(encoded_key, validate=True)
    assert key[0] == 0x01  # Ed25519 signature type
    assert len(key) == 33
    assert hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == key_hash

    split = note.rindex("\n\n")
    text, signature_block = note[: split + 1], note[split + 2 :]
    assert signature_block.endswith("\n")
    verified = False
    for line in signature_block[:-1].split("\n"):
        assert line.startswith("\u2014 ")
        signer_name, encoded = line[2:].split(" ")
        signature = base64.b64decode(encoded, validate=True)
        if signer_name == name and signature[:4].hex() == key_hash:
            Ed25519PublicKey.from_public_bytes(key[1:]).verify(signature[4:], text.encode())
            verified = True
    assert verified, "no signature by the log's key"

    origin, size, root, *rest = text.split("\n")
    assert rest == [""]  # no extension lines
    assert origin == name
    assert size == str(int(size))
    digest = base64.b64decode(root, validate=True)
    assert len(digest) == 32
    return origin, int(size), digest


# -- the seeded log --------------------------------------------------------------------------


@dataclass
class Log:
    dpo: dict[str, str]
    agency: RegisteredClient
    subjects: dict[str, str]
    # request id -> the person it is about (None: nobody), in recording order
    about: dict[str, str | None] = field(default_factory=dict)


def entries(http: TestClient, log: Log, **params: Any) -> list[dict[str, Any]]:
    """Every entry matching ``params``, following the cursor to the end."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = http.get("/v1/audit/entries", params=query, headers=log.dpo)
        assert response.status_code == 200, response.text
        page = response.json()
        found.extend(page["entries"])
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def at(hours: int) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


def export_jsonl(http: TestClient, log: Log, **params: str) -> tuple[list[dict[str, Any]], str]:
    """The exported entry lines and the export's raw text."""
    response = http.get("/v1/audit/export", params={"format": "jsonl", **params}, headers=log.dpo)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in response.text.splitlines()]
    return [record for record in records if "checkpoint" not in record], response.text
