"""Who may give a consent, held at recording: a child under 15 needs a legal guardian or
custodian among the givers (§ 36 SGB I), a minor from 15 may consent alone, and a grant that
covers data the policy marks as confided (§ 65 SGB VIII) needs the confiding person. A
refusal names the rule, writes nothing but its audit entry, and names no person."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.audit.tables import AuditEntry
from gateway.consents.tables import ConsentVersion
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.consents.conftest import ABH, JA, JC, SA, consent_body
from tests.consents.test_record import counts
from tests.support import CONFIDED_CITATION, confided_policies

ALONE = [{"role": "data_subject"}]
SUPPORT = {"from": JA, "to": JC, "categories": ["youth_welfare_support"],
           "purposes": ["case_management"]}  # fmt: skip


REFERENCES = {JC: "JC-4711", JA: "JA-77", ABH: "ABH-0815", SA: "SA-2002"}


def minor(band: str, *roles: str, grants: list | None = None) -> dict:
    """A consent of a person of this age band, given by these roles (the youth welfare office
    may tell the job centre about its support, unless other grants are given)."""
    return consent_body(
        subject={"references": REFERENCES, "age_band": band},
        given_by=[{"role": role} for role in roles],
        grants=grants or [SUPPORT],
    )


def refusals(runtime: Runtime) -> list[dict]:
    with runtime.database.transaction(read_only=True) as session:
        bodies = session.scalars(
            select(AuditEntry.body).where(AuditEntry.event == "consent.refused")
        ).all()
    return [json.loads(body) for body in bodies]


@pytest.mark.parametrize("roles", [("data_subject",), ("data_subject", "confiding_person")])
def test_a_child_under_15_recorded_without_guardian_or_custodian_is_refused(
    http: TestClient, as_agency, runtime: Runtime, roles
):
    before = counts(runtime)
    response = http.post(
        "/v1/consents", json=minor("minor_under_15", *roles), headers=as_agency(JC)
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/consent-giver-missing"
    assert problem["reason"] == "guardian_required"
    assert "§ 36 SGB I" in problem["detail"]
    assert [error["path"] for error in problem["errors"]] == ["/body/given_by"]
    assert "JC-4711" not in response.text
    # Nothing written but the refusal's own audit entry, which names the rule and no person.
    assert counts(runtime) == before | {"audit_entries": before["audit_entries"] + 1}
    (entry,) = refusals(runtime)
    assert (entry["actor"], entry["decision"], entry["reason"]) == (JC, "deny", "guardian_required")
    assert entry["categories"] == ["youth_welfare_support"]
    assert "subject" not in entry


@pytest.mark.parametrize(
    ("band", "roles"),
    [
        ("minor_under_15", ("legal_guardian",)),
        ("minor_under_15", ("custodian", "data_subject")),
        ("minor_15_to_17", ("data_subject",)),  # § 36 SGB I: from 15, alone
        ("minor_15_to_17", ("data_subject", "custodian")),
        ("adult", ("data_subject",)),
        ("adult", ("legal_guardian",)),  # a Betreuer
    ],
)
def test_a_consent_given_by_who_may_give_it_is_recorded_with_the_age_band(
    http: TestClient, as_agency, runtime: Runtime, band, roles
):
    response = http.post("/v1/consents", json=minor(band, *roles), headers=as_agency(JC))
    assert response.status_code == 201, response.text
    consent_id = response.json()["consent_id"]
    read = http.get(f"/v1/consents/{consent_id}", headers=as_agency(JA)).json()
    assert read["subject_age_band"] == band
    assert read["given_by"] == sorted(roles)
    with runtime.database.transaction(read_only=True) as session:
        assert session.get(ConsentVersion, (consent_id, 1)).subject_age_band == band
    assert refusals(runtime) == []


def test_the_receipt_states_the_age_band_beside_who_gave_it(http: TestClient, as_agency):
    recorded = http.post(
        "/v1/consents", json=minor("minor_under_15", "custodian"), headers=as_agency(JC)
    ).json()
    payload = recorded["receipt"].split(".")[1]
    receipt = json.loads(_b64(payload))
    assert (receipt["subject_age_band"], receipt["given_by"]) == ("minor_under_15", ["custodian"])


def _b64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.mark.parametrize(
    ("subject", "path"),
    [
        ({"references": {JC: "JC-4711", ABH: "ABH-0815", SA: "SA-2002"}}, "/body/subject/age_band"),
        ({"references": {JC: "JC-4711", ABH: "ABH-0815", SA: "SA-2002"}, "age_band": "14"},
         "/body/subject/age_band"),
        ({"references": {JC: "JC-4711", ABH: "ABH-0815", SA: "SA-2002"},
          "birth_date": "2012-03-01", "age_band": "minor_under_15"}, "/body/subject/birth_date"),
    ],
)  # fmt: skip
def test_the_age_band_must_be_stated_and_nothing_finer_is_taken(
    http: TestClient, as_agency, runtime: Runtime, subject, path
):
    body = consent_body()
    body["subject"] = subject
    before = counts(runtime)
    response = http.post("/v1/consents", json=body, headers=as_agency(JC))
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/invalid-request"
    assert [e["path"] for e in response.json()["errors"]] == [path]
    assert counts(runtime) == before


def test_a_partial_withdrawal_keeps_the_age_band_it_was_recorded_with(http, as_agency):
    contact = dict(SUPPORT, categories=["case_contact"])
    body = minor("minor_15_to_17", "data_subject", grants=[SUPPORT, contact])
    consent_id = http.post("/v1/consents", json=body, headers=as_agency(JC)).json()["consent_id"]
    withdrawn = http.post(
        f"/v1/consents/{consent_id}/withdraw",
        json={"channel": "written", "grants": [contact]},
        headers=as_agency(JC),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["version"], withdrawn.json()["subject_age_band"]) == (
        2,
        "minor_15_to_17",
    )


class TestConfidedData:
    """The youth welfare office's support data marked as confided (§ 65 SGB VIII)."""

    @pytest.fixture
    def settings(self, settings: Settings, tmp_path: Path) -> Settings:
        return settings.model_copy(update={"policy_dir": confided_policies(tmp_path / "p")})

    def test_a_grant_of_confided_data_without_the_confiding_person_is_refused(
        self, http: TestClient, as_agency, runtime: Runtime
    ):
        before = counts(runtime)
        body = minor("adult", "data_subject", grants=[consent_body()["grants"][0], SUPPORT])
        response = http.post("/v1/consents", json=body, headers=as_agency(JC))
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["type"] == "/problems/consent-giver-missing"
        assert problem["reason"] == "confiding_person_required"
        assert "§ 65 SGB VIII" in problem["detail"]
        (error,) = problem["errors"]
        assert error["path"] == "/body/grants/1"  # the grant of the confided data
        assert CONFIDED_CITATION in error["message"]
        assert "youth_welfare_support" in error["message"]
        assert counts(runtime) == before | {"audit_entries": before["audit_entries"] + 1}
        (entry,) = refusals(runtime)
        assert entry["reason"] == "confiding_person_required"

    @pytest.mark.parametrize("roles", [("confiding_person",), ("data_subject", "confiding_person")])
    def test_a_grant_of_confided_data_the_confiding_person_gave_is_recorded(
        self, http: TestClient, as_agency, roles
    ):
        response = http.post("/v1/consents", json=minor("adult", *roles), headers=as_agency(JC))
        assert response.status_code == 201, response.text

    def test_grants_of_data_nobody_confided_need_no_confiding_person(
        self, http: TestClient, as_agency
    ):
        response = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC))
        assert response.status_code == 201, response.text

    def test_a_child_and_confided_data_are_both_named_the_first_rule_as_reason(
        self, http: TestClient, as_agency, runtime: Runtime
    ):
        before = counts(runtime)
        response = http.post(
            "/v1/consents", json=minor("minor_under_15", "data_subject"), headers=as_agency(JC)
        )
        assert response.status_code == 422
        problem = response.json()
        assert problem["reason"] == "guardian_required"
        assert [e["path"] for e in problem["errors"]] == ["/body/given_by", "/body/grants/0"]
        assert "§ 36 SGB I" in problem["detail"]
        assert "§ 65 SGB VIII" in problem["detail"]
        assert counts(runtime) == before | {"audit_entries": before["audit_entries"] + 1}
        (entry,) = refusals(runtime)
        assert entry["details"]["rules"] == "guardian_required confiding_person_required"


def test_the_recording_route_declares_the_refusal(http: TestClient):
    document = http.get("/openapi.json").json()
    operation = document["paths"]["/v1/consents"]["post"]
    assert "Consent giver missing" in operation["responses"]["422"]["description"]
    subject = document["components"]["schemas"]["SubjectIn"]
    assert "age_band" in subject["required"]
    age_band = http.get("/problems/consent-giver-missing")
    assert age_band.status_code == 200
