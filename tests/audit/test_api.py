"""The audit API as a DPO's tool uses it: search and page the log, fetch the signed checkpoint
and the key, check proofs with an independent RFC 6962 verifier, export and verify offline, and
answer one person's access request without revealing any agency's file reference."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from click.testing import CliRunner
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from sqlalchemy import select

from consent.vocabulary import AgencyKind
from gateway.agencies.tables import ClientRole
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.audit.notes import Verifier, verify_checkpoint
from gateway.audit.tables import AuditEntry
from gateway.cli.main import cli
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.subjects.tables import Subject, SubjectReference
from tests.audit import rfc6962
from tests.support import Clients, RegisteredClient, client_assertion, token_form

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


@pytest.fixture
def log(runtime: Runtime, clients: Clients, http: TestClient) -> Log:
    """Three agencies of Köln, two persons, and eight decisions between 09:00 and 16:00."""
    agency = clients.agency(JOBCENTER, AgencyKind.JOB_CENTRE)
    clients.agency(ABH, AgencyKind.FOREIGNERS_OFFICE)
    clients.agency(SOZIALAMT, AgencyKind.SOCIAL_OFFICE)
    dpo = clients.other("city-dpo", ClientRole.DPO)
    amina = add_subject(runtime, REFERENCES["amina"])
    oleksandr = add_subject(runtime, REFERENCES["oleksandr"])
    hour = timedelta(hours=1)
    permit, deny = Decision.PERMIT, Decision.DENY
    record(
        runtime,
        (
            AuditEvent(
                EventType.CONSENT_RECORDED,
                actor=JOBCENTER,
                subject_id=amina,
                consent_id="c-amina",
                consent_version=1,
                request_id="r0",
            ),
            T0,
        ),
        (
            decision("r1", JOBCENTER, ABH, ("residence_status",), "labour_market_integration",
                     permit, subject_id=amina, consent_id="c-amina"),
            T0 + hour,
        ),
        (
            decision("r2", SOZIALAMT, JOBCENTER, ("benefit_status",), "benefit_entitlement",
                     deny, reason="no_consent", subject_id=oleksandr),
            T0 + 2 * hour,
        ),
        (
            decision("r3", JOBCENTER, ABH, ("residence_status",), "case_management",
                     deny, reason="purpose_not_covered", subject_id=amina),
            T0 + 3 * hour,
        ),
        (
            decision("r4", ABH, JOBCENTER, ("integration_measures",), "residence_procedure",
                     permit, subject_id=amina, consent_id="c-amina"),
            T0 + 4 * hour,
        ),
        (
            decision("r5", JOBCENTER, SOZIALAMT, ("benefit_status", "case_contact"),
                     "case_management", permit, subject_id=oleksandr, consent_id="c-oleks"),
            T0 + 5 * hour,
        ),
        (
            decision("r6", ABH, JOBCENTER, ("youth_welfare_support",),
                     "child_and_youth_welfare", deny, reason="no_policy"),
            T0 + 6 * hour,
        ),
        (
            decision("r7", SOZIALAMT, JOBCENTER, ("case_contact",), "case_management",
                     deny, reason="no_consent", subject_id=amina),
            T0 + 7 * hour,
        ),
    )  # fmt: skip
    about = {
        "r0": "amina", "r1": "amina", "r2": "oleksandr", "r3": "amina", "r4": "amina",
        "r5": "oleksandr", "r6": None, "r7": "amina",
    }  # fmt: skip
    return Log(
        dpo=bearer(token_for(http, dpo)),
        agency=agency,
        subjects={"amina": amina, "oleksandr": oleksandr},
        about=about,
    )


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


# -- entries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"since": at(2), "until": at(5)}, ["r2", "r3", "r4"]),
        ({"since": at(6), "until": at(24)}, ["r6", "r7"]),
        ({"until": at(1)}, ["r0"]),
        (
            {"since": "2024-03-04T13:00:00+02:00", "until": "2024-03-04T15:00:00+02:00"},
            ["r2", "r3"],
        ),
        ({"since": at(7), "until": at(7)}, []),
        ({"agency": SOZIALAMT}, ["r2", "r5", "r7"]),
        ({"agency": ABH}, ["r1", "r3", "r4", "r6"]),
        ({"event": "consent.recorded"}, ["r0"]),
        ({"decision": "deny"}, ["r2", "r3", "r6", "r7"]),
        ({"decision": "permit"}, ["r1", "r4", "r5"]),
        ({"reason": "no_consent"}, ["r2", "r7"]),
        ({"category": "benefit_status"}, ["r2", "r5"]),
        ({"category": "case_contact"}, ["r5", "r7"]),
        ({"category": "status"}, []),  # a whole category name, not a part of one
        ({"purpose": "case_management"}, ["r3", "r5", "r7"]),
        ({"agency": JOBCENTER, "decision": "permit", "purpose": "case_management"}, ["r5"]),
    ],
)
def test_each_filter_returns_exactly_the_matching_entries(
    http: TestClient, log: Log, runtime: Runtime, params: dict[str, str], expected: list[str]
):
    publish(runtime)
    found = entries(http, log, **params)
    assert [entry["request_id"] for entry in found] == expected


def test_entries_carry_what_was_decided_and_a_pseudonym_instead_of_the_person(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    (entry,) = entries(http, log, reason="purpose_not_covered")
    assert entry["event"] == "exchange.decided"
    assert entry["requester"] == JOBCENTER
    assert entry["provider"] == ABH
    assert entry["categories"] == ["residence_status"]
    assert entry["purpose"] == "case_management"
    assert entry["decision"] == "deny"
    assert entry["caseworker"] == "cw-7f3a"
    assert datetime.fromisoformat(entry["recorded_at"]) == T0 + timedelta(hours=3)
    assert entry["pruned"] is False
    assert entry["subject"] == runtime.audit.pseudonymizer.pseudonym(log.subjects["amina"])
    assert log.subjects["amina"] not in json.dumps(entry)


@pytest.mark.parametrize("category", ["case_contac_", "residence_______", "benefit_statu_"])
def test_a_category_filter_matches_only_that_exact_category(
    http: TestClient, log: Log, runtime: Runtime, category: str
):
    publish(runtime)
    assert entries(http, log, category=category) == []


def test_a_time_without_zone_is_read_as_utc(http: TestClient, log: Log, runtime: Runtime):
    """DPO tools often send local-looking timestamps; the CLI reads them as UTC, so must the API."""
    response = http.get(
        "/v1/audit/entries",
        params={"since": "2024-03-04T11:00:00", "until": "2024-03-04T13:00:00"},
        headers=log.dpo,
    )
    assert response.status_code == 200, response.text
    assert [entry["request_id"] for entry in response.json()["entries"]] == ["r2", "r3"]


@pytest.mark.parametrize("limit", [1, 2, 3, 500])
def test_cursor_pages_cover_every_entry_once_in_order(
    http: TestClient, log: Log, runtime: Runtime, limit: int
):
    publish(runtime)
    pages: list[list[int]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = http.get("/v1/audit/entries", params=params, headers=log.dpo)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([entry["id"] for entry in page["entries"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert all(0 < len(page) <= limit for page in pages)
    assert [entry_id for page in pages for entry_id in page] == all_entry_ids(runtime)


def test_cursor_pages_of_a_filter_cover_its_matches_once(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    paged = entries(http, log, decision="deny", limit=1)
    assert [entry["request_id"] for entry in paged] == ["r2", "r3", "r6", "r7"]
    assert len({entry["id"] for entry in paged}) == 4


def test_published_entries_have_distinct_positions_and_pending_ones_none(
    http: TestClient, log: Log, runtime: Runtime
):
    size = publish(runtime)
    record(runtime, (unsubjected_denial("late"), T0))
    found = entries(http, log)
    placed = [entry["position"] for entry in found if entry["request_id"] != "late"]
    assert sorted(placed) == list(range(size))
    assert [entry["position"] for entry in found if entry["request_id"] == "late"] == [None]


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"since": "yesterday"}, "/query/since"),
        ({"until": "2024-13-01T00:00:00Z"}, "/query/until"),
        ({"agency": "Koeln_Jobcenter"}, "/query/agency"),
        ({"event": "exchange.guessed"}, "/query/event"),
        ({"decision": "maybe"}, "/query/decision"),
        ({"reason": "no consent"}, "/query/reason"),
        ({"category": "Residence-Status"}, "/query/category"),
        ({"purpose": "x" * 49}, "/query/purpose"),
        ({"limit": "0"}, "/query/limit"),
        ({"limit": "501"}, "/query/limit"),
        ({"limit": "ten"}, "/query/limit"),
        ({"cursor": "c" * 65}, "/query/cursor"),
        ({"cursor": "not a cursor!"}, "/query/cursor"),
        ({"cursor": cursor_of("x12")}, "/query/cursor"),
        ({"cursor": cursor_of("e")}, "/query/cursor"),
        ({"cursor": cursor_of("e12x")}, "/query/cursor"),
    ],
)
def test_an_invalid_filter_or_cursor_is_a_422_problem(
    http: TestClient, log: Log, params: dict[str, str], path: str
):
    response = http.get("/v1/audit/entries", params=params, headers=log.dpo)
    body = assert_problem(response, 422, "/problems/invalid-request")
    assert path in [error["path"] for error in body["errors"]]


def test_a_cursor_beyond_any_entry_id_is_a_422_problem(http: TestClient, log: Log):
    params = {"cursor": cursor_of("e" + "9" * 30)}
    response = http.get("/v1/audit/entries", params=params, headers=log.dpo)
    body = assert_problem(response, 422, "/problems/invalid-request")
    assert "/query/cursor" in [error["path"] for error in body["errors"]]


# -- checkpoint and key ----------------------------------------------------------------------


def test_no_checkpoint_yet_is_a_404_problem(http: TestClient, log: Log):
    response = http.get("/v1/audit/checkpoint", headers=log.dpo)
    assert_problem(response, 404, "/problems/no-checkpoint")


def test_the_checkpoint_is_a_signed_note_that_verifies_with_the_published_key(
    http: TestClient, log: Log, runtime: Runtime
):
    size = publish(runtime)
    response = http.get("/v1/audit/checkpoint", headers=log.dpo)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    note = response.text
    key = http.get("/v1/audit/key", headers=log.dpo)
    assert key.status_code == 200
    assert key.headers["content-type"].startswith("text/plain")

    checkpoint = verify_checkpoint(note, Verifier.from_vkey(key.text))
    assert checkpoint.size == size == len(all_entry_ids(runtime))
    assert hand_verified_checkpoint(note, key.text) == (
        checkpoint.origin,
        checkpoint.size,
        checkpoint.root,
    )


def test_a_checkpoint_with_a_changed_size_fails_the_hand_check(
    http: TestClient, log: Log, runtime: Runtime
):
    """The hand check above can fail: a note whose text was altered does not verify."""
    size = publish(runtime)
    note = http.get("/v1/audit/checkpoint", headers=log.dpo).text
    vkey = http.get("/v1/audit/key", headers=log.dpo).text
    origin = note.split("\n", 1)[0]
    forged = note.replace(f"{origin}\n{size}\n", f"{origin}\n{size + 1}\n", 1)
    assert forged != note
    with pytest.raises(InvalidSignature):
        hand_verified_checkpoint(forged, vkey)


def test_the_checkpoint_root_is_the_rfc6962_hash_of_the_exported_entries(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    vkey = http.get("/v1/audit/key", headers=log.dpo).text
    _, size, root = hand_verified_checkpoint(
        http.get("/v1/audit/checkpoint", headers=log.dpo).text, vkey
    )
    lines, _ = export_jsonl(http, log)
    assert [line["seq"] for line in lines] == list(range(size))
    assert rfc6962.mth([canonical_leaf(line["entry"]) for line in lines]) == root


# -- proofs ----------------------------------------------------------------------------------


def checkpoint_root(http: TestClient, log: Log) -> tuple[int, bytes]:
    vkey = http.get("/v1/audit/key", headers=log.dpo).text
    _, size, root = hand_verified_checkpoint(
        http.get("/v1/audit/checkpoint", headers=log.dpo).text, vkey
    )
    return size, root


def inclusion(http: TestClient, log: Log, index: int, tree_size: int) -> tuple[bytes, list[bytes]]:
    response = http.get(
        "/v1/audit/proofs/inclusion",
        params={"index": index, "tree_size": tree_size},
        headers=log.dpo,
    )
    assert response.status_code == 200, response.text
    proof = response.json()
    assert (proof["index"], proof["tree_size"]) == (index, tree_size)
    return base64.b64decode(proof["leaf_hash"]), [base64.b64decode(h) for h in proof["hashes"]]


def consistency(http: TestClient, log: Log, first: int, second: int) -> list[bytes]:
    response = http.get(
        "/v1/audit/proofs/consistency",
        params={"first": first, "second": second},
        headers=log.dpo,
    )
    assert response.status_code == 200, response.text
    proof = response.json()
    assert (proof["first"], proof["second"]) == (first, second)
    return [base64.b64decode(h) for h in proof["hashes"]]


def test_every_entry_has_an_inclusion_proof_to_the_checkpoint_root(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    size, root = checkpoint_root(http, log)
    lines, _ = export_jsonl(http, log)
    assert size == len(lines) >= 10
    for index in range(size):
        leaf, path = inclusion(http, log, index, size)
        assert leaf == rfc6962.sha256(b"\x00" + canonical_leaf(lines[index]["entry"]))
        assert rfc6962.verify_inclusion(index, size, leaf, path, root), index
        # The same proof does not place the leaf anywhere else.
        assert not rfc6962.verify_inclusion((index + 1) % size, size, leaf, path, root)


def test_inclusion_proofs_in_an_older_tree_verify_against_its_root(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    lines, _ = export_jsonl(http, log)
    leaves = [canonical_leaf(line["entry"]) for line in lines]
    record(runtime, (unsubjected_denial("r8"), T0))
    publish(runtime)
    for tree_size in range(1, len(leaves) + 1):
        root = rfc6962.mth(leaves[:tree_size])
        for index in range(tree_size):
            leaf, path = inclusion(http, log, index, tree_size)
            assert rfc6962.verify_inclusion(index, tree_size, leaf, path, root), (index, tree_size)


def test_consistency_proofs_link_two_published_checkpoints(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    first, first_root = checkpoint_root(http, log)
    for number in range(5):
        record(runtime, (unsubjected_denial(f"later-{number}"), T0))
    publish(runtime)
    second, second_root = checkpoint_root(http, log)
    assert second == first + 5

    proof = consistency(http, log, first, second)
    assert rfc6962.verify_consistency(first, second, first_root, second_root, proof)
    tampered = bytes([first_root[0] ^ 1]) + first_root[1:]
    assert not rfc6962.verify_consistency(first, second, tampered, second_root, proof)


def test_consistency_proofs_hold_between_any_two_sizes(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    lines, _ = export_jsonl(http, log)
    leaves = [canonical_leaf(line["entry"]) for line in lines]
    roots = {n: rfc6962.mth(leaves[:n]) for n in range(1, len(leaves) + 1)}
    for second in roots:
        for first in range(1, second + 1):
            proof = consistency(http, log, first, second)
            assert rfc6962.verify_consistency(first, second, roots[first], roots[second], proof), (
                first,
                second,
            )


@pytest.mark.parametrize(
    ("route", "params", "path"),
    [
        ("inclusion", {"index": "{size}", "tree_size": "{size}"}, "/query/index"),
        ("inclusion", {"index": "0", "tree_size": "{size+1}"}, "/query/tree_size"),
        ("inclusion", {"index": "0", "tree_size": "0"}, "/query/tree_size"),
        ("inclusion", {"index": "-1", "tree_size": "{size}"}, "/query/index"),
        ("inclusion", {"index": "one", "tree_size": "{size}"}, "/query/index"),
        ("inclusion", {"tree_size": "{size}"}, "/query/index"),
        ("inclusion", {"index": "0", "tree_size": "9" * 30}, "/query/tree_size"),
        ("consistency", {"first": "0", "second": "{size}"}, "/query/first"),
        ("consistency", {"first": "{size}", "second": "{size-1}"}, "/query/first"),
        ("consistency", {"first": "1", "second": "{size+1}"}, "/query/second"),
        ("consistency", {"first": "1", "second": "0"}, "/query/second"),
        ("consistency", {"first": "1"}, "/query/second"),
        ("consistency", {"first": "1", "second": "9" * 30}, "/query/second"),
    ],
)
def test_a_proof_outside_the_signed_tree_is_a_422_problem(
    http: TestClient,
    log: Log,
    runtime: Runtime,
    route: str,
    params: dict[str, str],
    path: str,
):
    size = publish(runtime)
    sizes = {"{size}": size, "{size+1}": size + 1, "{size-1}": size - 1}
    query = {name: str(sizes.get(value, value)) for name, value in params.items()}
    response = http.get(f"/v1/audit/proofs/{route}", params=query, headers=log.dpo)
    body = assert_problem(response, 422, "/problems/invalid-request")
    assert path in [error["path"] for error in body["errors"]]


def test_no_proof_exists_before_the_first_checkpoint(http: TestClient, log: Log):
    response = http.get(
        "/v1/audit/proofs/inclusion", params={"index": 0, "tree_size": 1}, headers=log.dpo
    )
    assert_problem(response, 422, "/problems/invalid-request")
    response = http.get(
        "/v1/audit/proofs/consistency", params={"first": 1, "second": 1}, headers=log.dpo
    )
    assert_problem(response, 422, "/problems/invalid-request")


# -- export ----------------------------------------------------------------------------------


def export_jsonl(http: TestClient, log: Log, **params: str) -> tuple[list[dict[str, Any]], str]:
    """The exported entry lines and the export's raw text."""
    response = http.get("/v1/audit/export", params={"format": "jsonl", **params}, headers=log.dpo)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in response.text.splitlines()]
    return [record for record in records if "checkpoint" not in record], response.text


@pytest.fixture
def gateway_cli(settings: Settings):
    runner = CliRunner(
        env={
            "GATEWAY_DATABASE_URL": settings.database_url,
            "GATEWAY_KEY_DIR": str(settings.key_dir),
            "GATEWAY_ISSUER": settings.issuer,
        }
    )
    return lambda *args: runner.invoke(cli, list(args))


def test_the_jsonl_export_ends_with_the_checkpoint_it_covers(
    http: TestClient, log: Log, runtime: Runtime
):
    size = publish(runtime)
    lines, text = export_jsonl(http, log)
    last = json.loads(text.splitlines()[-1])
    assert set(last) == {"checkpoint"}
    assert last["checkpoint"] == http.get("/v1/audit/checkpoint", headers=log.dpo).text
    assert [line["seq"] for line in lines] == list(range(size))


def test_an_exported_log_verifies_offline_with_the_public_key(
    http: TestClient, log: Log, runtime: Runtime, tmp_path: Path, gateway_cli
):
    publish(runtime)
    _, text = export_jsonl(http, log)
    export = tmp_path / "audit.jsonl"
    export.write_text(text)
    key = tmp_path / "audit.vkey"
    key.write_text(http.get("/v1/audit/key", headers=log.dpo).text)

    result = gateway_cli("audit", "verify", "--export", str(export), "--public-key", str(key))
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_an_exported_log_with_one_changed_field_fails_verification(
    http: TestClient, log: Log, runtime: Runtime, tmp_path: Path, gateway_cli
):
    publish(runtime)
    _, text = export_jsonl(http, log)
    key = tmp_path / "audit.vkey"
    key.write_text(http.get("/v1/audit/key", headers=log.dpo).text)
    changed = []
    position = None
    for line in text.splitlines():
        record = json.loads(line)
        if position is None and record.get("entry", {}).get("request_id") == "r3":
            record["entry"]["decision"] = "permit"
            position = record["seq"]
        changed.append(json.dumps(record, ensure_ascii=False))
    assert position is not None
    export = tmp_path / "audit.jsonl"
    export.write_text("\n".join(changed) + "\n")

    result = gateway_cli("audit", "verify", "--export", str(export), "--public-key", str(key))
    assert result.exit_code == 1, result.output
    assert f"position {position}" in result.output


def test_the_csv_export_has_a_header_and_one_row_per_entry(
    http: TestClient, log: Log, runtime: Runtime
):
    size = publish(runtime)
    response = http.get("/v1/audit/export", params={"format": "csv"}, headers=log.dpo)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    header = next(csv.reader(io.StringIO(response.text)))
    assert {"position", "time", "event", "requester", "provider", "decision"} <= set(header)
    assert [int(row["position"]) for row in rows] == list(range(size))
    (r5,) = [row for row in rows if row["request_id"] == "r5"]
    assert r5["categories"] == "benefit_status case_contact"
    assert r5["decision"] == "permit"


def test_an_export_is_itself_recorded_in_the_log(http: TestClient, log: Log, runtime: Runtime):
    publish(runtime)
    assert entries(http, log, event="audit.exported") == []
    export_jsonl(http, log)
    http.get("/v1/audit/export", params={"format": "csv"}, headers=log.dpo)
    exported = entries(http, log, event="audit.exported")
    assert [(entry["actor"], entry["details"]) for entry in exported] == [
        ("city-dpo", {"format": "jsonl"}),
        ("city-dpo", {"format": "csv"}),
    ]


# -- access report ---------------------------------------------------------------------------


def access_report(http: TestClient, log: Log, agency: str, reference: str) -> Any:
    return http.get(
        "/v1/audit/access-report",
        params={"agency": agency, "subject_ref": reference},
        headers=log.dpo,
    )


def consent_ids(log: Log, person: str) -> list[str | None]:
    wanted = {
        "r0": "c-amina", "r1": "c-amina", "r2": None, "r3": None, "r4": "c-amina",
        "r5": "c-oleks", "r6": None, "r7": None,
    }  # fmt: skip
    return [wanted[request] for request, about in log.about.items() if about == person]


@pytest.mark.parametrize(
    ("person", "agency"),
    [("amina", JOBCENTER), ("amina", ABH), ("amina", SOZIALAMT), ("oleksandr", SOZIALAMT)],
)
def test_the_access_report_lists_the_persons_records_and_nobody_elses(
    http: TestClient, log: Log, runtime: Runtime, person: str, agency: str
):
    publish(runtime)
    response = access_report(http, log, agency, REFERENCES[person][agency])
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["agency"] == agency
    mine = [request for request, about in log.about.items() if about == person]
    assert len(report["records"]) == len(mine)
    assert [record["consent_id"] for record in report["records"]] == consent_ids(log, person)
    times = [datetime.fromisoformat(record["time"]) for record in report["records"]]
    assert times == sorted(times)


def test_the_access_report_says_who_asked_what_for_which_purpose_and_the_outcome(
    http: TestClient, log: Log, runtime: Runtime
):
    response = access_report(http, log, JOBCENTER, REFERENCES["oleksandr"][JOBCENTER])
    records = response.json()["records"]
    assert [
        (r["event"], r["requester"], r["provider"], r["categories"], r["purpose"], r["decision"],
         r["reason"], r["caseworker"])
        for r in records
    ] == [
        ("exchange.decided", SOZIALAMT, JOBCENTER, ["benefit_status"], "benefit_entitlement",
         "deny", "no_consent", "cw-7f3a"),
        ("exchange.decided", JOBCENTER, SOZIALAMT, ["benefit_status", "case_contact"],
         "case_management", "permit", None, "cw-7f3a"),
    ]  # fmt: skip
    assert records[1]["legal_basis"] == "consent"


def test_the_access_report_never_contains_a_file_reference(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    every_reference = [ref for refs in REFERENCES.values() for ref in refs.values()]
    for person, references in REFERENCES.items():
        for agency, reference in references.items():
            response = access_report(http, log, agency, reference)
            assert response.status_code == 200, response.text
            assert response.json()["records"], (person, agency)
            for leaked in every_reference:
                assert leaked not in response.text, (person, agency, leaked)
            assert log.subjects[person] not in response.text


@pytest.mark.parametrize(
    ("agency", "reference"),
    [
        (JOBCENTER, "JC-2024-999999"),
        # Another agency's reference of a known person is not this agency's reference.
        (JOBCENTER, REFERENCES["amina"][ABH]),
        ("koeln-jugendamt", REFERENCES["amina"][JOBCENTER]),
    ],
)
def test_an_unknown_reference_is_a_404_problem(
    http: TestClient, log: Log, agency: str, reference: str
):
    response = access_report(http, log, agency, reference)
    assert_problem(response, 404, "/problems/unknown-subject")
    assert reference not in response.text


# -- who may read ----------------------------------------------------------------------------

AUDIT_ROUTES = [
    ("/v1/audit/entries", {}),
    ("/v1/audit/checkpoint", {}),
    ("/v1/audit/key", {}),
    ("/v1/audit/proofs/inclusion", {"index": 0, "tree_size": 1}),
    ("/v1/audit/proofs/consistency", {"first": 1, "second": 1}),
    ("/v1/audit/export", {"format": "jsonl"}),
    ("/v1/audit/export", {"format": "csv"}),
    (
        "/v1/audit/access-report",
        {"agency": JOBCENTER, "subject_ref": REFERENCES["amina"][JOBCENTER]},
    ),
]


@pytest.mark.parametrize(("path", "params"), AUDIT_ROUTES)
def test_an_agency_token_is_refused_with_403(
    http: TestClient, log: Log, runtime: Runtime, path: str, params: dict[str, Any]
):
    publish(runtime)
    token = token_for(http, log.agency)
    response = http.get(path, params=params, headers=bearer(token))
    assert_problem(response, 403, "/problems/insufficient-scope")
    assert REFERENCES["amina"][JOBCENTER] not in response.text


@pytest.mark.parametrize(("path", "params"), AUDIT_ROUTES)
def test_a_dpo_token_narrowed_to_policy_read_is_refused_with_403(
    http: TestClient, log: Log, clients: Clients, path: str, params: dict[str, Any]
):
    token = token_for(http, clients.registered["city-dpo"], scope="policy:read")
    response = http.get(path, params=params, headers=bearer(token))
    assert_problem(response, 403, "/problems/insufficient-scope")


@pytest.mark.parametrize(("path", "params"), AUDIT_ROUTES)
def test_no_token_is_refused_with_401(
    http: TestClient, log: Log, runtime: Runtime, path: str, params: dict[str, Any]
):
    publish(runtime)
    response = http.get(path, params=params)
    assert_problem(response, 401, "/problems/invalid-token")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_refused_export_is_not_recorded_as_an_export(
    http: TestClient, log: Log, runtime: Runtime
):
    token = token_for(http, log.agency)
    http.get("/v1/audit/export", params={"format": "jsonl"}, headers=bearer(token))
    http.get("/v1/audit/export", params={"format": "jsonl"})
    assert entries(http, log, event="audit.exported") == []
