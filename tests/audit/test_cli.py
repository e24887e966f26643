"""``gateway audit key|checkpoint|verify|prune`` as an operator runs them, and the audit entries
that the other operator commands (agency add/disable, keys rotate) leave behind."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.agencies.tables import ClientRole
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.audit.notes import Verifier, verify_checkpoint
from gateway.audit.service import AuditLog
from gateway.audit.tables import AuditEntry, AuditLeaf
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.keys.operator import Command, command_line
from tests.support import Clients, client_assertion, new_ed25519, public_jwks, token_form

TOKEN_ENDPOINT = "http://localhost/oauth/token"
NOW = datetime.now(UTC)


@pytest.fixture
def gateway(settings: Settings, tmp_path: Path) -> Command:
    """Runs ``gateway ARGS...`` in-process against the test database and key folder."""
    return command_line(settings, tmp_path)


def succeeded(result: Result) -> str:
    assert result.exception is None, result.output
    assert result.exit_code == 0, result.output
    return result.output


def denial(request_id: str) -> AuditEvent:
    return AuditEvent(
        EventType.EXCHANGE_DECIDED,
        requester="koeln-jobcenter",
        provider="koeln-abh",
        subject_id="3f1c9a52-0000-4000-8000-000000000001",
        categories=("residence_status",),
        purpose="case_management",
        decision=Decision.DENY,
        reason="no_consent",
        request_id=request_id,
    )


def record(runtime: Runtime, request_ids: list[str], moment: datetime | None = None) -> None:
    with runtime.database.transaction() as session:
        for request_id in request_ids:
            runtime.audit.record(session, denial(request_id), now=moment)


def bodies(runtime: Runtime, event: str | None = None) -> list[dict[str, Any] | None]:
    """The recorded bodies (None when pruned), oldest first, optionally of one event type."""
    with runtime.database.transaction(read_only=True) as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if event is not None:
            query = query.where(AuditEntry.event == event)
        return [json.loads(e.body) if e.body else None for e in session.scalars(query)]


def entries_by_request(runtime: Runtime) -> dict[str, tuple[int, str | None]]:
    """request id -> (entry id, body), for the entries recorded by these tests."""
    with runtime.database.transaction(read_only=True) as session:
        found = {}
        for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
            if entry.body is None:
                continue
            request_id = json.loads(entry.body).get("request_id")
            if request_id:
                found[request_id] = (entry.id, entry.body)
        return found


# -- key, checkpoint, verify -----------------------------------------------------------------


def test_audit_key_prints_a_vkey_that_verifiers_accept(gateway, runtime: Runtime):
    output = succeeded(gateway("audit", "key"))
    verifier = Verifier.from_vkey(output)
    assert verifier.raw == runtime.audit.verifier.raw
    assert verifier.name == runtime.settings.log_origin


def test_audit_checkpoint_prints_a_signed_note_of_every_entry(gateway, runtime: Runtime):
    record(runtime, ["r1", "r2", "r3"])
    verifier = Verifier.from_vkey(succeeded(gateway("audit", "key")))
    note = succeeded(gateway("audit", "checkpoint"))
    checkpoint = verify_checkpoint(note, verifier)
    assert checkpoint.size == len(bodies(runtime)) >= 3
    with runtime.database.transaction(read_only=True) as session:
        assert session.scalar(select(AuditLeaf.seq).order_by(AuditLeaf.seq.desc()).limit(1)) == (
            checkpoint.size - 1
        )


def test_audit_checkpoint_of_an_empty_log_signs_size_zero(gateway, runtime: Runtime):
    verifier = Verifier.from_vkey(succeeded(gateway("audit", "key")))
    checkpoint = verify_checkpoint(succeeded(gateway("audit", "checkpoint")), verifier)
    assert checkpoint.size == 0


def test_audit_verify_says_intact_for_an_untouched_database(gateway, runtime: Runtime):
    record(runtime, ["r1", "r2"])
    succeeded(gateway("audit", "checkpoint"))
    record(runtime, ["r3"])
    succeeded(gateway("audit", "checkpoint"))
    output = succeeded(gateway("audit", "verify"))
    assert output.startswith("intact:")
    assert "2 checkpoints verified" in output


def test_audit_verify_says_how_many_entries_still_wait_for_their_place(gateway, runtime: Runtime):
    record(runtime, ["r1"])
    succeeded(gateway("audit", "checkpoint"))
    placed = len(bodies(runtime))
    record(runtime, ["r2", "r3"])  # recorded after the last placing: still waiting
    output = succeeded(gateway("audit", "verify", "--wait", "0"))  # and no server places them
    assert output.startswith(f"intact: {placed} entries")
    assert "2 newer entries wait for their place in the log" in output

    succeeded(gateway("audit", "checkpoint"))
    assert "wait for their place" not in succeeded(gateway("audit", "verify"))


def test_audit_verify_waits_for_the_server_to_place_the_newest_entries(
    gateway, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
):
    """Right after the demo story, entries wait for the server's next round: verify waits for
    it, so that it checks them all, instead of checking only part of the log."""
    record(runtime, ["r1", "r2", "r3"])
    rounds = []
    pause = time.sleep

    def server_round_while_waiting(seconds: float) -> None:
        # The server's next round comes while verify waits (not before it looked).
        if not rounds:
            rounds.append(runtime.audit.publish(runtime.database))
        pause(seconds)

    monkeypatch.setattr(time, "sleep", server_round_while_waiting)
    output = succeeded(gateway("audit", "verify", "--wait", "30"))
    assert rounds
    assert "waiting for 3 entries to be placed" in output  # said while it waits
    assert f"intact: {len(bodies(runtime))} entries" in output
    assert "wait for their place" not in output


def test_audit_verify_with_a_kept_checkpoint_and_the_public_key_only(
    gateway, runtime: Runtime, tmp_path: Path
):
    record(runtime, ["r1", "r2"])
    kept = tmp_path / "kept.checkpoint"
    kept.write_text(succeeded(gateway("audit", "checkpoint")))
    key = tmp_path / "audit.vkey"
    key.write_text(succeeded(gateway("audit", "key")))
    record(runtime, ["r3"])
    succeeded(gateway("audit", "checkpoint"))
    output = succeeded(
        gateway("audit", "verify", "--public-key", str(key), "--checkpoint", str(kept))
    )
    assert "intact" in output


def test_audit_verify_refuses_a_key_of_another_log(gateway, runtime: Runtime, tmp_path: Path):
    """The intact verdict above depends on the key: a stranger's key fails every checkpoint."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from gateway.audit.notes import Signer

    record(runtime, ["r1"])
    succeeded(gateway("audit", "checkpoint"))
    stranger = tmp_path / "stranger.vkey"
    signer = Signer(runtime.settings.log_origin, Ed25519PrivateKey.generate())
    stranger.write_text(signer.verifier.vkey())
    result = gateway("audit", "verify", "--public-key", str(stranger))
    assert result.exit_code == 1, result.output
    assert "intact:" not in result.output


# -- prune -----------------------------------------------------------------------------------


@pytest.fixture
def dpo_headers(http: TestClient, clients: Clients) -> dict[str, str]:
    dpo = clients.other("city-dpo", ClientRole.DPO)
    form = token_form(client_assertion(dpo.id, dpo.key, TOKEN_ENDPOINT))
    response = http.post("/oauth/token", data=form)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def api_entries(http: TestClient, headers: dict[str, str]) -> dict[int, dict[str, Any]]:
    response = http.get("/v1/audit/entries", params={"limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    return {entry["id"]: entry for entry in page["entries"]}


def test_prune_empties_only_entries_older_than_the_given_days(
    gateway, runtime: Runtime, http: TestClient, request: pytest.FixtureRequest
):
    record(runtime, ["old-1", "old-2"], NOW - timedelta(days=40))
    record(runtime, ["recent-1"], NOW - timedelta(days=20))
    record(runtime, ["new-1"])
    succeeded(gateway("audit", "checkpoint"))
    recorded = entries_by_request(runtime)

    output = succeeded(gateway("audit", "prune", "--older-than-days", "30"))
    assert "pruned 2 entries" in output

    # (The DPO client is registered only now: its entry would be the log's first, and young.)
    listed = api_entries(http, request.getfixturevalue("dpo_headers"))
    for request_id in ("old-1", "old-2"):
        entry = listed[recorded[request_id][0]]
        assert entry["pruned"] is True
        assert entry["request_id"] is None
        assert entry["subject"] is None
        assert entry["position"] is not None
        assert entry["event"] == "exchange.decided"
    for request_id in ("recent-1", "new-1"):
        entry = listed[recorded[request_id][0]]
        assert entry["pruned"] is False
        assert entry["request_id"] == request_id
    assert sum(entry["pruned"] for entry in listed.values()) == 2


def test_the_log_still_verifies_after_pruning(gateway, runtime: Runtime, tmp_path: Path):
    record(runtime, ["old-1", "old-2", "old-3"], NOW - timedelta(days=400))
    record(runtime, ["new-1"])
    kept = tmp_path / "kept.checkpoint"
    kept.write_text(succeeded(gateway("audit", "checkpoint")))
    succeeded(gateway("audit", "prune", "--older-than-days", "365"))
    succeeded(gateway("audit", "checkpoint"))

    output = succeeded(gateway("audit", "verify", "--checkpoint", str(kept)))
    assert output.startswith("intact:")
    assert "3 entries below position 3 were pruned under the record of pruning" in output


def test_prune_places_and_signs_old_entries_before_pruning_them(gateway, runtime: Runtime):
    """Entries not yet in the tree are first given a place and a checkpoint, so their leaf
    hashes exist before their bodies go."""
    record(runtime, ["old-1"], NOW - timedelta(days=40))
    succeeded(gateway("audit", "prune", "--older-than-days", "30"))
    [(entry_id, event)] = pruned_entries(runtime)
    assert event == "exchange.decided"
    with runtime.database.transaction(read_only=True) as session:
        assert session.scalar(select(AuditLeaf.seq).where(AuditLeaf.entry_id == entry_id)) == 0
    assert succeeded(gateway("audit", "verify")).startswith("intact:")


def pruned_entries(runtime: Runtime) -> list[tuple[int, str]]:
    with runtime.database.transaction(read_only=True) as session:
        return [
            (entry.id, entry.event)
            for entry in session.scalars(select(AuditEntry).where(AuditEntry.body.is_(None)))
        ]


def test_prune_keeps_old_entries_that_no_checkpoint_covers(
    gateway, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
):
    """An entry not yet placed and signed keeps its body however old it is: pruning it before
    its leaf hash is signed would lose it. (``prune`` publishes first, so the gap is opened
    here by making that first publish place nothing.)"""
    record(runtime, ["old-covered"], NOW - timedelta(days=40))
    succeeded(gateway("audit", "checkpoint"))
    record(runtime, ["old-uncovered"], NOW - timedelta(days=40))
    publish = AuditLog.publish
    calls: list[int] = []

    def first_places_nothing(self: AuditLog, database: Any, batch: int = 5000) -> Any:
        calls.append(batch)
        return None if len(calls) == 1 else publish(self, database, batch)

    monkeypatch.setattr(AuditLog, "publish", first_places_nothing)
    output = succeeded(gateway("audit", "prune", "--older-than-days", "30"))
    assert "pruned 1 entries" in output
    remaining = entries_by_request(runtime)
    assert "old-covered" not in remaining
    assert "old-uncovered" in remaining
    monkeypatch.undo()
    assert succeeded(gateway("audit", "verify")).startswith("intact:")


def test_prune_records_what_it_pruned(gateway, runtime: Runtime):
    record(runtime, ["old-1", "old-2", "old-3"], NOW - timedelta(days=40))
    assert bodies(runtime, EventType.AUDIT_PRUNED.value) == []
    succeeded(gateway("audit", "prune", "--older-than-days", "30"))
    (pruned,) = bodies(runtime, EventType.AUDIT_PRUNED.value)
    assert pruned is not None
    assert pruned["actor"] == "operator"
    assert pruned["details"]["entries"] == 3
    cutoff = datetime.fromisoformat(pruned["details"]["recorded_before"])
    assert NOW - timedelta(days=31) < cutoff < NOW - timedelta(days=29)


def test_prune_with_nothing_old_enough_records_nothing(gateway, runtime: Runtime):
    record(runtime, ["recent-1"], NOW - timedelta(days=3))
    output = succeeded(gateway("audit", "prune", "--older-than-days", "30"))
    assert "pruned 0 entries" in output
    assert bodies(runtime, EventType.AUDIT_PRUNED.value) == []
    assert None not in bodies(runtime)


@pytest.mark.parametrize("days", ["0", "-3", "soon"])
def test_prune_refuses_a_period_below_one_day(gateway, runtime: Runtime, days: str):
    record(runtime, ["r1"])
    result = gateway("audit", "prune", "--older-than-days", days)
    assert result.exit_code == 2, result.output
    assert None not in bodies(runtime)


# -- other commands leave their audit entries ------------------------------------------------


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "agency.jwks.json"
    path.write_text(public_jwks(new_ed25519()))
    return path


def agency_add(jwks_file: Path, name: str = "Jobcenter Köln") -> list[str]:
    options = {"--id": "koeln-jobcenter", "--kind": "job_centre", "--municipality": "koeln"}
    options |= {"--name": name, "--jwks": str(jwks_file)}
    return ["agency", "add", *(part for pair in options.items() for part in pair)]


def add_agency(gateway, jwks_file: Path) -> None:
    succeeded(gateway(*agency_add(jwks_file)))


def test_agency_add_records_client_added(gateway, runtime: Runtime, jwks_file: Path):
    add_agency(gateway, jwks_file)
    (added,) = bodies(runtime, EventType.CLIENT_ADDED.value)
    assert added is not None
    assert added["actor"] == "operator"
    assert added["details"]["client"] == "koeln-jobcenter"
    assert added["details"]["role"] == "agency"
    assert added["details"]["kind"] == "job_centre"
    assert "Jobcenter Köln" not in json.dumps(added, ensure_ascii=False)


def test_a_refused_agency_add_records_nothing(gateway, runtime: Runtime, jwks_file: Path):
    add_agency(gateway, jwks_file)
    result = gateway(*agency_add(jwks_file, name="Again"))
    assert result.exit_code == 1, result.output
    assert len(bodies(runtime, EventType.CLIENT_ADDED.value)) == 1


def test_dpo_add_records_client_added(gateway, runtime: Runtime, jwks_file: Path):
    succeeded(gateway("dpo", "add", "--id", "city-dpo", "--jwks", str(jwks_file)))
    (added,) = bodies(runtime, EventType.CLIENT_ADDED.value)
    assert added is not None
    assert (added["details"]["client"], added["details"]["role"]) == ("city-dpo", "dpo")


def test_agency_disable_records_client_disabled_once(gateway, runtime: Runtime, jwks_file: Path):
    add_agency(gateway, jwks_file)
    assert bodies(runtime, EventType.CLIENT_DISABLED.value) == []
    succeeded(gateway("agency", "disable", "koeln-jobcenter"))
    succeeded(gateway("agency", "disable", "koeln-jobcenter"))  # already disabled: no change
    (disabled,) = bodies(runtime, EventType.CLIENT_DISABLED.value)
    assert disabled is not None
    assert disabled["actor"] == "operator"
    assert disabled["details"]["client"] == "koeln-jobcenter"


def test_keys_rotate_records_keys_rotated(gateway, runtime: Runtime):
    before = runtime.keys.active_kid()
    output = succeeded(gateway("keys", "rotate"))
    (rotated,) = bodies(runtime, EventType.SIGNING_KEY_ROTATED.value)
    assert rotated is not None
    assert rotated["actor"] == "operator"
    assert rotated["details"]["retired_kid"] == before
    assert rotated["details"]["kid"] != before
    assert rotated["details"]["kid"] in output


def test_the_operator_commands_entries_verify_as_one_log(
    gateway, runtime: Runtime, jwks_file: Path
):
    add_agency(gateway, jwks_file)
    succeeded(gateway("audit", "checkpoint"))
    succeeded(gateway("agency", "disable", "koeln-jobcenter"))
    succeeded(gateway("keys", "rotate"))
    note = succeeded(gateway("audit", "checkpoint"))
    verifier = Verifier.from_vkey(succeeded(gateway("audit", "key")))
    # agency added, agency disabled, signing key, message key and audit digest key rotated
    assert verify_checkpoint(note, verifier).size == len(bodies(runtime)) == 5
    assert succeeded(gateway("audit", "verify")).startswith("intact:")
