"""Withdrawal is immediate, as easy as consent, and a new version when only some grants go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consent.check import Denial, DenialReason, VerifiedConsent, check
from gateway.consents import repository
from gateway.runtime import Runtime
from gateway.subjects.repository import subject_of
from tests.consents.conftest import ABH, JA, JC, SA, consent_body

RESIDENCE = {"from": ABH, "to": JC, "categories": ["residence_status"],
             "purposes": ["case_management", "labour_market_integration"]}  # fmt: skip


def record(http, as_agency) -> str:
    response = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC))
    assert response.status_code == 201, response.text
    return str(response.json()["consent_id"])


def decide(runtime: Runtime, provider, recipient, category, purpose, at=None):
    with runtime.database.transaction(read_only=True) as session:
        subject = subject_of(session, JC, "JC-4711")
        return check(
            repository.permissions(session, subject, provider, recipient),
            provider=provider,
            recipient=recipient,
            category=category,
            purpose=purpose,
            at=at or datetime.now(UTC),
        )


def test_a_recorded_consent_permits_what_it_grants(http, as_agency, runtime):
    record(http, as_agency)
    assert isinstance(
        decide(runtime, ABH, JC, "residence_status", "labour_market_integration"), VerifiedConsent
    )
    assert decide(runtime, ABH, JC, "residence_status", "benefit_entitlement") == Denial(
        DenialReason.PURPOSE_NOT_COVERED
    )
    assert decide(runtime, JC, ABH, "residence_status", "case_management") == Denial(
        DenialReason.NO_CONSENT
    )


def test_a_consent_expires_at_its_end_without_any_job(http, as_agency, runtime):
    record(http, as_agency)
    later = datetime.now(UTC) + timedelta(days=400)
    assert decide(runtime, ABH, JC, "residence_status", "case_management", at=later) == Denial(
        DenialReason.CONSENT_EXPIRED
    )


def test_withdrawing_the_whole_consent_takes_effect_at_once(http, as_agency, runtime):
    consent_id = record(http, as_agency)
    response = http.post(
        f"/v1/consents/{consent_id}/withdraw", json={"channel": "in_person"}, headers=as_agency(ABH)
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "withdrawn"
    assert decide(runtime, ABH, JC, "residence_status", "case_management") == Denial(
        DenialReason.CONSENT_WITHDRAWN
    )
    again = http.post(
        f"/v1/consents/{consent_id}/withdraw", json={"channel": "written"}, headers=as_agency(JC)
    )
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/consent-not-active"


def test_withdrawing_one_grant_makes_a_new_version_without_it(http, as_agency, runtime):
    consent_id = record(http, as_agency)
    response = http.post(
        f"/v1/consents/{consent_id}/withdraw",
        json={"channel": "written", "grants": [RESIDENCE]},
        headers=as_agency(JC),
    )
    assert response.status_code == 200, response.text
    current = response.json()
    assert current["version"] == 2
    assert current["status"] == "active"
    assert [(g["from"], g["to"]) for g in current["grants"]] == [(JC, SA)]
    assert [(v["version"], v["status"]) for v in current["versions"]] == [
        (1, "superseded"),
        (2, "active"),
    ]
    assert decide(runtime, ABH, JC, "residence_status", "case_management") == Denial(
        DenialReason.CONSENT_WITHDRAWN
    )
    assert isinstance(
        decide(runtime, JC, SA, "benefit_status", "benefit_entitlement"), VerifiedConsent
    )
    receipt = http.get(f"/v1/consents/{consent_id}/receipt", headers=as_agency(JC)).json()
    assert receipt["version"] == 2


def test_withdrawing_a_grant_the_consent_does_not_have_changes_nothing(http, as_agency):
    consent_id = record(http, as_agency)
    wrong = dict(RESIDENCE, purposes=["case_management"])
    response = http.post(
        f"/v1/consents/{consent_id}/withdraw",
        json={"channel": "written", "grants": [wrong]},
        headers=as_agency(JC),
    )
    assert response.status_code == 422
    assert http.get(f"/v1/consents/{consent_id}", headers=as_agency(JC)).json()["version"] == 1


def test_only_a_party_can_withdraw(http, as_agency):
    consent_id = record(http, as_agency)
    response = http.post(
        f"/v1/consents/{consent_id}/withdraw", json={"channel": "written"}, headers=as_agency(JA)
    )
    assert response.status_code == 404


def test_a_new_portal_code_replaces_the_old(http, as_agency):
    recorded = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC)).json()
    fresh = http.post(f"/v1/consents/{recorded['consent_id']}/portal-code", headers=as_agency(JC))
    assert fresh.status_code == 200
    assert fresh.json()["portal_code"] != recorded["portal_code"]


def test_an_expiry_is_audited_once(http, as_agency, runtime):
    from sqlalchemy import func, select

    from gateway.audit.tables import AuditEntry
    from gateway.consents.service import record_expiries

    record(http, as_agency)
    later = datetime.now(UTC) + timedelta(days=400)
    with runtime.database.transaction() as session:
        assert record_expiries(session, runtime.audit, datetime.now(UTC)) == 0
        assert record_expiries(session, runtime.audit, later) == 1
        assert record_expiries(session, runtime.audit, later) == 0
        expired = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.event == "consent.expired")
        )
    assert expired == 1
