"""What an emergency query is refused for, and that every refusal is audited and releases
nothing; and bad input, which changes nothing at all."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway.audit.tables import AuditEntry
from gateway.emergency.tables import EmergencyUse, EmergencyWindow
from gateway.release.tables import Release
from tests.emergency.world import JA, JUSTIFICATION, Emergency


def counts(emergency: Emergency) -> tuple[int, ...]:
    """Audit entries, ledger rows, windows and uses, and the provider's requests."""
    runtime = emergency.world.gateway.runtime
    with runtime.database.transaction(read_only=True) as session:
        stored = tuple(
            int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (AuditEntry, Release, EmergencyWindow, EmergencyUse)
        )
    return (*stored, len(emergency.world.provider_requests))


def refused(
    emergency: Emergency,
    response: httpx.Response,
    reason: str,
    code: str | None = JUSTIFICATION["reason"],
) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["reason"] == reason
    (entry,) = [e for e in emergency.entries() if e.get("requester") == JA]
    assert (entry["decision"], entry["reason"]) == ("deny", reason)
    assert entry["details"]["emergency"] is True
    assert entry["details"].get("emergency_reason") == code
    assert entry["justification_hmac"]
    assert "emergency_window" not in entry["details"]
    runtime = emergency.world.gateway.runtime
    with runtime.database.transaction(read_only=True) as session:
        assert session.scalars(select(EmergencyUse)).all() == []
        assert session.scalars(select(Release).where(Release.recipient == JA)).all() == []


def test_an_agency_without_emergency_access_cannot_get_the_scope(emergency: Emergency):
    emergency.known_from_a_consent()
    response = emergency.token()
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_a_token_carries_the_emergency_scope_only_when_it_is_asked_for_by_name(
    emergency: Emergency,
):
    emergency.grant()
    emergency.known_from_a_consent()
    plain = emergency.token(scope=None).json()
    assert "exchange:emergency" not in plain["scope"].split()
    before = counts(emergency)
    response = emergency.ask(headers={"Authorization": f"Bearer {plain['access_token']}"})
    assert response.status_code == 403
    assert response.json()["type"].endswith("insufficient-scope")
    assert counts(emergency) == before


def test_taking_emergency_access_away_stops_tokens_already_issued(emergency: Emergency):
    emergency.grant()
    emergency.known_from_a_consent()
    bearer = emergency.bearer()
    emergency.grant(allowed=False)
    before = counts(emergency)
    response = emergency.ask(headers=bearer)
    assert response.status_code == 403
    assert response.json()["type"].endswith("insufficient-scope")
    assert counts(emergency) == before


def test_a_reason_the_emergency_flow_does_not_list_is_refused(emergency: Emergency):
    emergency.grant()
    emergency.known_from_a_consent()
    response = emergency.ask({**JUSTIFICATION, "reason": "general_curiosity"})
    # A code no flow lists is the caller's own text: it stays out of the audit log.
    refused(emergency, response, "emergency_reason_not_listed", code=None)
    assert emergency.world.provider_requests == []


def test_a_code_no_flow_lists_cannot_write_a_name_into_the_audit_log(emergency: Emergency):
    emergency.grant()
    emergency.known_from_a_consent()
    response = emergency.ask({**JUSTIFICATION, "reason": "amira_haddad_born_2015"})
    assert response.status_code == 403
    assert "amira" not in json.dumps(emergency.entries())
    assert "amira" not in response.text


@pytest.mark.parametrize(
    ("categories", "purpose"),
    [
        (("case_contact",), "child_and_youth_welfare"),  # no emergency flow for the category
        (("residence_status",), "case_management"),  # nor for the purpose
    ],
)
def test_what_no_emergency_flow_covers_is_refused(
    emergency: Emergency, categories: tuple[str, ...], purpose: str
):
    emergency.grant()
    emergency.known_from_a_consent()
    response = emergency.ask(categories=categories, purpose=purpose)
    refused(emergency, response, "no_policy")


def test_a_person_the_office_does_not_know_is_refused_as_unknown(emergency: Emergency):
    emergency.grant()
    emergency.known_from_a_consent()
    response = emergency.ask(reference="JA-NOBODY")
    refused(emergency, response, "unknown_subject")


def justification(**changed: Any) -> dict[str, Any]:
    return {**JUSTIFICATION, **changed}


@pytest.mark.parametrize(
    ("body", "omit"),
    [
        (None, ("justification",)),
        (justification(text="urgent"), ()),  # too short to say why
        (justification(text="x" * 1001), ()),
        (justification(text="line\x00break"), ()),
        (justification(case_number=" JA 1"), ()),
        (justification(case_number="JA\u200b1"), ()),
        (justification(reason="Acute-Danger"), ()),
        ({k: v for k, v in JUSTIFICATION.items() if k != "case_number"}, ()),
        (justification(extra="x"), ()),
    ],
)
def test_a_malformed_justification_is_rejected_and_changes_nothing(
    emergency: Emergency, body: dict[str, Any] | None, omit: tuple[str, ...]
):
    emergency.grant()
    emergency.known_from_a_consent()
    before = counts(emergency)
    response = emergency.ask(body, omit=omit)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert counts(emergency) == before
    assert JUSTIFICATION["text"] not in response.text
