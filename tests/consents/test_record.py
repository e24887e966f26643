"""Recording a consent: what is stored and returned, and every refusal, which writes nothing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import jwt as pyjwt
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select

from gateway.audit.tables import AuditEntry
from gateway.consents.models import ConsentIn
from gateway.consents.recording import period
from gateway.consents.tables import ConsentPermission, ConsentRecord, ConsentVersion
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.subjects.tables import Subject, SubjectReference
from tests.consents.conftest import ABH, BONN, JA, JC, SA, consent_body

TABLES = (ConsentRecord, ConsentVersion, ConsentPermission, Subject, SubjectReference)


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.database.transaction(read_only=True) as session:
        return {
            table.__tablename__: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (*TABLES, AuditEntry)
        }


def test_a_consent_is_recorded_with_receipt_and_portal_code(http, as_agency, runtime: Runtime):
    response = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC))
    assert response.status_code == 201, response.text
    recorded = response.json()
    assert recorded["version"] == 1
    assert recorded["status"] == "active"
    assert re.fullmatch(r"[A-Z2-9]{5}(-[A-Z2-9]{5}){3}", recorded["portal_code"])
    counted = counts(runtime)
    assert counted["consent_permissions"] == 3  # 1x2 + 1x1 (category, purpose) pairs
    assert counted["subject_references"] == 3


def test_the_receipt_verifies_with_the_jwks_in_an_independent_library(http, as_agency):
    recorded = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC)).json()
    jwks = http.get("/.well-known/jwks.json").json()
    header = pyjwt.get_unverified_header(recorded["receipt"])
    assert header["alg"] == "EdDSA"
    (key,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    public = pyjwt.PyJWK.from_dict(key, algorithm="EdDSA")
    payload = pyjwt.api_jws.decode(recorded["receipt"], key=public.key, algorithms=["EdDSA"])
    receipt = json.loads(payload)
    assert receipt["consent_id"] == recorded["consent_id"]
    assert receipt["status"] == "active"
    assert len(receipt["notice"]["form_sha256"]) == 64
    assert receipt["notice"]["interpreter_language"] == "ar"
    for reference in ("JC-4711", "ABH-0815", "SA-2002"):
        assert reference not in payload.decode()


def test_reading_shows_only_the_callers_own_reference(http, as_agency):
    consent_id = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC)).json()[
        "consent_id"
    ]
    as_abh = http.get(f"/v1/consents/{consent_id}", headers=as_agency(ABH))
    assert as_abh.status_code == 200
    assert as_abh.json()["subject_ref"] == "ABH-0815"
    assert "JC-4711" not in as_abh.text
    listed = http.get("/v1/consents", params={"subject_ref": "SA-2002"}, headers=as_agency(SA))
    assert [c["consent_id"] for c in listed.json()["consents"]] == [consent_id]


def test_an_agency_not_party_to_a_consent_gets_404(http, as_agency):
    consent_id = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC)).json()[
        "consent_id"
    ]
    for path in (f"/v1/consents/{consent_id}", f"/v1/consents/{consent_id}/receipt"):
        response = http.get(path, headers=as_agency(JA))
        assert response.status_code == 404
        assert response.json()["type"] == "/problems/consent-not-found"


def test_a_second_consent_reuses_the_known_person(http, as_agency, runtime):
    http.post("/v1/consents", json=consent_body(), headers=as_agency(JC))
    second = consent_body(
        subject={"references": {JC: "JC-4711", JA: "JA-77"}},
        grants=[
            {
                "from": JA,
                "to": JC,
                "categories": ["youth_welfare_support"],
                "purposes": ["case_management"],
            }
        ],
    )
    assert http.post("/v1/consents", json=second, headers=as_agency(JC)).status_code == 201
    assert counts(runtime)["subjects"] == 1
    assert counts(runtime)["subject_references"] == 4


def test_recording_is_audited_with_a_pseudonym_only(http, as_agency, runtime):
    http.post(
        "/v1/consents", json=consent_body(), headers=as_agency(JC) | {"X-Caseworker": "cw-17"}
    )
    with runtime.database.transaction(read_only=True) as session:
        (body,) = session.scalars(
            select(AuditEntry.body).where(AuditEntry.event == "consent.recorded")
        )
    entry = json.loads(body)
    # The caseworker too only as a pseudonym, keyed per acting agency (issue 16).
    assert entry["caseworker"] == runtime.audit.digests.caseworker(JC, "cw-17")
    assert "cw-17" not in body
    assert entry["subject"].startswith(runtime.audit.pseudonymizer.key_id + ":")
    assert "JC-4711" not in body


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def grant(provider: str, recipient: str, category: str, purpose: str) -> dict[str, object]:
    return {"from": provider, "to": recipient, "categories": [category], "purposes": [purpose]}


def notice(form_id: str, language: str) -> dict[str, str]:
    return {"form_id": form_id, "form_version": "1", "language": language}


FORM = "cross-agency-case-management"
CASE = "case_management"
REFUSALS = [
    ("unknown agency", {"grants": [grant("koeln-nowhere", JC, "residence_status", CASE)]},
     "/body/"),
    ("no flow allows it", {"grants": [grant(JC, ABH, "benefit_status", CASE)]},
     "/body/grants/0"),
    ("wrong purpose", {"grants": [grant(ABH, JC, "residence_status", "benefit_entitlement")]},
     "/body/grants/0"),
    ("only an emergency flow allows it",
     {"subject": {"references": {JC: "JC-4711", JA: "JA-1"}},
      "grants": [grant(JC, JA, "benefit_status", "child_and_youth_welfare")]},
     "/body/grants/0"),
    ("across municipalities",
     {"subject": {"references": {JC: "JC-1", BONN: "B-1", ABH: "A-1"}},
      "grants": [grant(ABH, BONN, "residence_status", CASE)]},
     "/body/grants"),
    ("recorder not a party", {"grants": [grant(ABH, SA, "residence_status", CASE)]},
     "/body/grants"),
    ("missing reference", {"subject": {"references": {JC: "JC-1"}}}, "/body/grants/0/from"),
    ("to itself", {"grants": [grant(JC, JC, "case_contact", CASE)]}, "/body/grants/0"),
    ("dates reversed", {"valid_from": in_days(10), "valid_until": in_days(5)},
     "/body/valid_until"),
    ("over 24 months", {"valid_until": in_days(800)}, "/body/valid_until"),
    ("already over", {"valid_from": in_days(-30), "valid_until": in_days(-1)},
     "/body/valid_until"),
    ("unknown form", {"notice": notice("no-such-form", "de")}, "/body/notice"),
    ("unknown language", {"notice": notice(FORM, "fr")}, "/body/notice"),
    ("unknown version", {"notice": {**notice(FORM, "de"), "form_version": "2"}},
     "/body/notice"),
    ("empty grants", {"grants": []}, "/body/grants"),
    ("unknown category", {"grants": [grant(ABH, JC, "passport", CASE)]},
     "/body/grants/0/categories/0"),
    ("unknown role", {"given_by": [{"role": "neighbour"}]}, "/body/given_by/0/role"),
    ("unknown channel", {"evidence": {"channel": "telepathy"}}, "/body/evidence/channel"),
    ("extra field", {"note": "x"}, "/body/note"),
    ("naive time", {"valid_from": "2026-01-01T00:00:00"}, "/body/valid_from"),
    ("a number", {"valid_until": 1893456000}, "/body/valid_until"),
    ("digits", {"valid_until": "20280101"}, "/body/valid_until"),
    ("no such day", {"valid_until": "2027-02-30"}, "/body/valid_until"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "changes", "path"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_bad_consent_is_refused_and_nothing_is_written(
    http: TestClient, as_agency, runtime: Runtime, case, changes, path
):
    before = counts(runtime)
    response = http.post("/v1/consents", json=consent_body(**changes), headers=as_agency(JC))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert any(error["path"].startswith(path) for error in problem["errors"]), problem
    assert "JC-4711" not in response.text
    assert counts(runtime) == before


def test_references_naming_two_persons_are_refused_with_409(http, as_agency, runtime):
    http.post("/v1/consents", json=consent_body(), headers=as_agency(JC))
    other = consent_body(subject={"references": {JC: "JC-9999", ABH: "ABH-0815", SA: "SA-1"}})
    http.post(
        "/v1/consents",
        json=consent_body(subject={"references": {JC: "JC-9999", ABH: "ABH-1", SA: "SA-9"}}),
        headers=as_agency(JC),
    )
    before = counts(runtime)
    response = http.post("/v1/consents", json=other, headers=as_agency(JC))
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/reference-conflict"
    assert response.json()["reason"] == "reference_conflict"
    # Nothing written but the refusal's own audit entry.
    assert counts(runtime) == before | {"audit_entries": before["audit_entries"] + 1}


def test_a_second_reference_of_the_recorder_for_its_person_is_refused(http, as_agency, runtime):
    http.post("/v1/consents", json=consent_body(), headers=as_agency(JC))
    before = counts(runtime)
    # The job centre's own new reference, for the person the others' references name.
    changed = consent_body(subject={"references": {JC: "JC-NEW", ABH: "ABH-0815", SA: "SA-2002"}})
    response = http.post("/v1/consents", json=changed, headers=as_agency(JC))
    assert response.status_code == 409
    assert counts(runtime) == before | {"audit_entries": before["audit_entries"] + 1}


def test_another_agencys_differing_reference_keeps_the_one_it_has(http, as_agency, runtime):
    """Refusing would tell the recorder that the foreigners' office knows the person."""
    http.post("/v1/consents", json=consent_body(), headers=as_agency(JC))
    changed = consent_body(subject={"references": {JC: "JC-4711", ABH: "ABH-NEW", SA: "SA-2002"}})
    response = http.post("/v1/consents", json=changed, headers=as_agency(JC))
    assert response.status_code == 201
    with runtime.database.transaction(read_only=True) as session:
        kept = session.scalars(
            select(SubjectReference.reference).where(SubjectReference.agency_id == ABH)
        ).all()
    assert kept == ["ABH-0815"]


def test_recording_needs_consent_write(http, clients):
    from gateway.agencies.tables import ClientRole

    dpo = clients.other("city-dpo", ClientRole.DPO)
    form = token_form_for(dpo)
    token = http.post("/oauth/token", data=form).json()["access_token"]
    response = http.post(
        "/v1/consents", json=consent_body(), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403


def token_form_for(client):
    from tests.support import client_assertion, token_form

    return token_form(client_assertion(client.id, client.key, "http://localhost/oauth/token"))


def test_an_old_receipt_still_verifies_after_the_key_rotated_long_ago(http, as_agency, runtime):
    from datetime import UTC, datetime, timedelta

    recorded = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC)).json()
    runtime.keys.rotate(now=datetime.now(UTC) - timedelta(days=400))
    runtime.keys.rotate()
    header = pyjwt.get_unverified_header(recorded["receipt"])
    jwks = http.get("/.well-known/jwks.json").json()
    (key,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    public = pyjwt.PyJWK.from_dict(key, algorithm="EdDSA")
    assert pyjwt.api_jws.decode(recorded["receipt"], key=public.key, algorithms=["EdDSA"])


def test_an_agency_corrects_its_own_reference_and_only_its_own(http, as_agency, runtime):
    consent_id = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC)).json()[
        "consent_id"
    ]
    corrected = http.put(
        f"/v1/consents/{consent_id}/subject-reference",
        json={"reference": "ABH-0815-B"},
        headers=as_agency(ABH),
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["subject_ref"] == "ABH-0815-B"
    # The job centre's reference is untouched; the old one of the foreigners' office is gone.
    assert (
        http.get(f"/v1/consents/{consent_id}", headers=as_agency(JC)).json()["subject_ref"]
        == "JC-4711"
    )
    listed = http.get("/v1/consents", params={"subject_ref": "ABH-0815"}, headers=as_agency(ABH))
    assert listed.status_code == 404


def test_a_reference_naming_another_person_is_refused(http, as_agency, runtime):
    first = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC)).json()
    other = consent_body(subject={"references": {JC: "JC-2", ABH: "ABH-2", SA: "SA-2"}})
    http.post("/v1/consents", json=other, headers=as_agency(JC))
    before = counts(runtime)
    response = http.put(
        f"/v1/consents/{first['consent_id']}/subject-reference",
        json={"reference": "JC-2"},
        headers=as_agency(JC),
    )
    assert response.status_code == 409
    assert counts(runtime) == before


def test_an_oversized_consent_is_refused_with_413_and_nothing_written(http, as_agency, runtime):
    before = counts(runtime)
    body = consent_body(evidence={"channel": "paper_signed", "padding": "x" * (2 * 1024 * 1024)})
    response = http.post("/v1/consents", json=body, headers=as_agency(JC))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert counts(runtime) == before


@pytest.mark.parametrize(
    "reference",
    [
        "JC-4711\u200b",  # a zero-width space: looks like JC-4711
        "JC-\u202e1174",  # a right-to-left override: shown reversed
        "\u011e\U000a58c8",  # a private-use character, as a fuzzer sent it
        "JC-4711 ",  # a trailing space: another reference that looks the same
        "ЈС-4711",  # Cyrillic letters that look Latin
        "JC\t4711",
        "",
        "J" * 129,
    ],
)
def test_a_reference_outside_the_documented_set_is_refused_and_nothing_stored(
    http, as_agency, runtime, reference
):
    body = consent_body()
    body["subject"]["references"][JC] = reference
    response = http.post("/v1/consents", json=body, headers=as_agency(JC))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert reference not in response.text or not reference.strip()  # never echoed
    assert counts(runtime)["consents"] == 0


@pytest.mark.parametrize("reference", ["JC-4711", "AZ 123/2024:b#7", "Müller_ÄÖÜß.1", "7"])
def test_a_reference_as_agencies_write_them_is_accepted(http, as_agency, reference):
    body = consent_body()
    body["subject"]["references"][JC] = reference
    response = http.post("/v1/consents", json=body, headers=as_agency(JC))
    assert response.status_code == 201, response.text
    listed = http.get("/v1/consents", params={"subject_ref": reference}, headers=as_agency(JC))
    assert listed.json()["consents"][0]["subject_ref"] == reference


def test_plain_dates_mean_whole_days_in_the_deployments_time_zone(http, as_agency):
    """The signed form says "valid until 31.12.2027": the consent covers that whole day in
    Berlin, and the stored times say so."""
    today = datetime.now(UTC).date()
    until = today.replace(year=today.year + 1, month=12, day=31)
    body = consent_body(valid_from=today.isoformat(), valid_until=until.isoformat())
    response = http.post("/v1/consents", json=body, headers=as_agency(JC))
    assert response.status_code == 201, response.text
    consent = http.get(
        f"/v1/consents/{response.json()['consent_id']}", headers=as_agency(JC)
    ).json()
    berlin = ZoneInfo("Europe/Berlin")
    stored_from = datetime.fromisoformat(consent["valid_from"]).astimezone(berlin)
    stored_until = datetime.fromisoformat(consent["valid_until"]).astimezone(berlin)
    assert (stored_from.date(), stored_from.time()) == (today, time())
    assert (stored_until.date(), stored_until.time()) == (until + timedelta(days=1), time())


def test_the_days_are_the_time_zone_the_deployment_names():
    body = ConsentIn.model_validate(consent_body(valid_from="2027-03-01", valid_until="2027-03-31"))
    start, end = period(body, ZoneInfo("America/New_York"))
    assert (start.isoformat(), end.isoformat()) == (
        "2027-03-01T00:00:00-05:00",
        "2027-04-01T00:00:00-04:00",  # a whole day, summer time included
    )


def test_a_time_zone_this_system_does_not_know_is_refused_at_start():
    with pytest.raises(ValidationError, match="time zone"):
        Settings(time_zone="Europe/Atlantis")
