"""An agency system that misbehaves or lies: a provider answering what no schema allows, a
client sending what no parser should choke on. Nothing it sends passes on, every decision that
was taken stays on record, and nothing is a 500 without a trace."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.audit.events import AuditEvent, Decision
from gateway.release.tables import Release
from tests.adversarial.conftest import (
    ABH,
    AMIRA,
    CONFERENCE,
    CONTACTS,
    JA,
    JC,
    RESIDENCE,
    RESIDENCE_STATUS,
    City,
)

DEEP = 100_000  # far beyond any parser's recursion limit
MEASURES = {"from": JC, "to": ABH, "categories": ["integration_measures"],
            "purposes": ["residence_procedure"]}  # fmt: skip
COURSE = {"type": "integration_course", "status": "ongoing", "start": "2026-01-05",
          "end": None, "level": "B1"}  # fmt: skip


def _decisions(city: City) -> list[tuple[str, str | None]]:
    return [(e["decision"], e.get("reason")) for e in city.audit("exchange.decided")]


def test_a_deeply_nested_provider_answer_is_a_502_on_record(city: City):
    city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    city.misbehave(ABH, b'{"residence_status": ' + b"[" * DEEP + b"]" * DEEP + b"}")
    response = city.ask(JC, ABH, AMIRA[JC])
    assert response.status_code == 502, response.text
    assert response.json()["reason"] == "provider_invalid_response"
    assert _decisions(city) == [("deny", "provider_invalid_response")]


def test_a_field_slipped_inside_a_released_item_is_not_passed_on(city: City):
    city.recorded(ABH, {ABH: AMIRA[ABH], JC: AMIRA[JC]}, MEASURES)
    answer = {"integration_measures": [dict(COURSE, note="Fehlzeiten wegen Haft")]}
    city.misbehave(JC, json.dumps(answer).encode())
    response = city.ask(ABH, JC, AMIRA[ABH], ("integration_measures",), "residence_procedure")
    assert response.status_code == 502, response.text
    assert "Haft" not in response.text
    assert _decisions(city) == [("deny", "provider_invalid_response")]


def test_a_provider_answering_for_a_category_not_asked_passes_nothing_on(city: City):
    city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    extra = {"residence_status": RESIDENCE_STATUS, "benefit_status": {"benefit": "none"}}
    city.misbehave(ABH, json.dumps(extra).encode())
    response = city.ask(JC, ABH, AMIRA[JC])
    assert response.status_code == 502
    assert "benefit" not in response.text


def test_a_deeply_nested_request_body_is_refused_as_bad_input(city: City):
    city.recorded(JC, {JC: AMIRA[JC], JA: AMIRA[JA]}, CONTACTS)
    message = {"recipient": JA, "subject_ref": AMIRA[JC], "category": "case_conference",
               "purpose": "case_management", "payload": CONFERENCE}  # fmt: skip
    body = json.dumps(message).replace(json.dumps(CONFERENCE), "[" * DEEP + "]" * DEEP)
    response = city.post_bytes(JC, "/v1/messages", body.encode())
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert city.audit("message.sent") == []


def test_an_unexpected_failure_after_the_decision_is_on_record_before_the_500(
    city: City, monkeypatch: pytest.MonkeyPatch
):
    city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)

    def broken(category: str, document: object) -> list[dict[str, str]]:
        raise RuntimeError("a fault of the gateway's own")

    monkeypatch.setattr(city.runtime.schemas, "validate", broken)
    response = city.ask(JC, ABH, AMIRA[JC])
    assert response.status_code == 500
    assert "residence_permit" not in response.text
    assert _decisions(city) == [("deny", "internal_error")]


def test_a_release_whose_audit_entry_cannot_be_written_releases_nothing(
    city: City, monkeypatch: pytest.MonkeyPatch
):
    """Promise 2 under a fault: the permit's entry fails to write, so the release's
    transaction fails with it; no byte of the answer leaves, and the ledger stays empty."""
    city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    audit = city.runtime.audit
    record = audit.record

    def failing(session: Any, event: AuditEvent, now: Any = None) -> None:
        if event.decision is Decision.PERMIT:
            raise OSError("the audit table's disk is gone")
        record(session, event, now)

    monkeypatch.setattr(audit, "record", failing)
    response = city.ask(JC, ABH, AMIRA[JC])
    assert response.status_code == 500
    assert "residence_permit" not in response.text
    with city.runtime.database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Release)) == 0
    assert _decisions(city) == [("deny", "internal_error")]
