"""GET /v1/consents/{id}/record: the consent as W3C DPV's profile of ISO/IEC TS 27560, checked
against the structure the DPV guide documents (tests/consents/dpv_27560.py), with its status
history, and seen only by the consent's parties, each with its own reference alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import jsonschema_rs
import pytest
from sqlalchemy import update

from gateway.consents.tables import ConsentVersion
from tests.consents import dpv_27560 as guide
from tests.consents.conftest import ABH, BONN, FORM, JA, JC, SA, consent_body
from tests.support import client_assertion, token_form

RESIDENCE = {"from": ABH, "to": JC, "categories": ["residence_status"],
             "purposes": ["case_management", "labour_market_integration"]}  # fmt: skip
BENEFITS = {"from": JC, "to": SA, "categories": ["benefit_status"],
            "purposes": ["benefit_entitlement"]}  # fmt: skip
REFERENCES = {JC: "JC-4711", ABH: "ABH-0815", SA: "SA-2002"}
DPV, DCT, GW = guide.DPV, "http://purl.org/dc/terms/", "https://consent-gateway.invalid/vocab#"
# The DPV terms the record uses, each checked to be defined in DPV 2.3 (a misspelt or made-up
# term would expand to an IRI nobody defines).
DPV_TERMS = {
    "ConsentRecord", "DataSubject", "ConsentNotice", "Process", "Purpose", "PersonalData",
    "PublicSectorBody", "WithdrawConsent", "DataSubjectRight", "ConsentGiven",
    "ConsentWithdrawn", "ConsentExpired", "UntilTimeDuration", "GuardianOfDataSubject",
    "ServiceProvision", "ServiceAccessDetermination", "Share", "ExplicitlyExpressedConsent",
    "Adult", "Child",
    "hasDataSubject", "hasJurisdiction", "hasApplicableLaw", "hasLegalBasis", "hasNotice",
    "hasConsentControl", "isExercisedAt", "hasRight", "hasEntity", "hasIdentifier", "hasName",
    "hasProcess", "hasPurpose", "hasPersonalData", "hasProcessing", "hasDataController",
    "hasRecipient", "hasConsentStatus", "isIndicatedAtTime", "isIndicatedBy",
    "hasIndicationMethod", "isImplementedByEntity", "hasDuration",
}  # fmt: skip
_NAMESPACES = (
    DPV, DCT, GW, "https://w3id.org/dpv/", "https://consent-gateway.invalid/",
    "http://www.w3.org/", "http://localhost/",
)  # fmt: skip


def recorded(http, as_agency, **changes: Any) -> str:
    body = consent_body(**changes)
    response = http.post("/v1/consents", json=body, headers=as_agency(JC))
    assert response.status_code == 201, response.text
    return str(response.json()["consent_id"])


def record_of(http, as_agency, consent_id: str, agency: str = JC) -> dict[str, Any]:
    response = http.get(f"/v1/consents/{consent_id}/record", headers=as_agency(agency))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/ld+json"
    document: dict[str, Any] = response.json()
    return document


def withdraw(http, as_agency, consent_id: str, agency: str, **body: Any) -> None:
    response = http.post(
        f"/v1/consents/{consent_id}/withdraw", json=body, headers=as_agency(agency)
    )
    assert response.status_code == 200, response.text


def conforms(document: dict[str, Any]) -> None:
    errors = [
        f"{e.instance_path}: {e.message}" for e in guide.record_validator().iter_errors(document)
    ]
    assert errors == []
    for field in guide.GAPS:
        assert field not in str(document), f"{field} is left out, not made up"


def the_record(expanded: list[dict[str, Any]]) -> dict[str, Any]:
    [record] = [node for node in expanded if DPV + "ConsentRecord" in node.get("@type", [])]
    return record


def statuses(node: dict[str, Any]) -> list[tuple[str, datetime]]:
    """A node's consent events as (DPV state, time), in time order."""
    found = [
        (status["@type"], datetime.fromisoformat(status["dpv:isIndicatedAtTime"]))
        for status in node.get("dpv:hasConsentStatus", [])
    ]
    return sorted(found, key=lambda event: event[1])


def person(number: int) -> dict[str, Any]:
    """A consent body's subject: another person, known to each agency by its own reference."""
    return {"references": {agency: f"{ref}-{number}" for agency, ref in REFERENCES.items()}}


# -- the guide's structure ------------------------------------------------------------------


def test_the_record_expands_offline_into_what_the_guide_requires(http, as_agency):
    consent_id = recorded(http, as_agency)
    document = record_of(http, as_agency, consent_id)
    expanded = guide.expanded(document)  # the loader refuses every fetch
    record = the_record(expanded)

    assert guide.ids(record, DCT + "conformsTo") == [guide.PROFILE]
    assert guide.values(record, DCT + "identifier") == [consent_id]
    [subject] = record[DPV + "hasDataSubject"]
    assert subject["@type"] == [DPV + "DataSubject", DPV + "Adult"]  # recorded as an adult
    [notice] = record[DPV + "hasNotice"]
    assert notice["@type"] == [DPV + "ConsentNotice"]
    assert guide.values(notice, DCT + "language") == [FORM["language"]]
    assert guide.ids(record, DPV + "hasJurisdiction") == ["https://w3id.org/dpv/loc#DE"]
    assert DPV + "ExplicitlyExpressedConsent" in guide.ids(record, DPV + "hasLegalBasis")
    [control] = record[DPV + "hasConsentControl"]
    assert control["@type"] == [DPV + "WithdrawConsent"]
    assert guide.ids(control, DPV + "isExercisedAt") == ["http://localhost/portal/"]

    processes = record[DPV + "hasProcess"]
    assert len(processes) == 2
    for process in processes:
        assert process["@type"] == [DPV + "Process"]
        for prop in ("hasPurpose", "hasPersonalData", "hasDataController", "hasRecipient"):
            assert process[DPV + prop], prop
    residence = next(p for p in processes if p["@id"].endswith("#grant-1"))
    assert guide.ids(residence, DPV + "hasRecipient") == [
        "http://localhost/agencies/koeln-jobcenter"
    ]
    purposes = {p["@id"]: p for p in residence[DPV + "hasPurpose"]}
    assert set(purposes) == {
        "https://consent-gateway.invalid/purposes/case_management",
        "https://consent-gateway.invalid/purposes/labour_market_integration",
    }
    for purpose in purposes.values():
        assert purpose["@type"] == [DPV + "Purpose"]
        assert guide.ids(purpose, "http://www.w3.org/2004/02/skos/core#broader") == [
            DPV + "ServiceProvision"
        ]
    [data] = residence[DPV + "hasPersonalData"]
    assert data["@id"] == "https://consent-gateway.invalid/categories/residence_status"
    assert data["@type"] == [DPV + "PersonalData"]

    [given] = record[DPV + "hasConsentStatus"]
    assert given["@type"] == [DPV + "ConsentGiven"]
    [at] = given[DPV + "isIndicatedAtTime"]
    assert at["@type"] == "http://www.w3.org/2001/XMLSchema#dateTime"
    assert guide.ids(given, DPV + "isIndicatedBy") == [subject["@id"]]
    assert guide.ids(given, DPV + "hasIndicationMethod") == [GW + "paper_signed"]
    [duration] = given[DPV + "hasDuration"]
    assert duration["@type"] == [DPV + "UntilTimeDuration"]


def test_every_term_expands_to_a_known_namespace_and_dpv_terms_exist(http, as_agency):
    consent_id = recorded(
        http, as_agency, given_by=[{"role": "legal_guardian"}, {"role": "confiding_person"}]
    )
    withdraw(http, as_agency, consent_id, SA, channel="written", grants=[BENEFITS])
    expanded = guide.expanded(record_of(http, as_agency, consent_id))
    used: set[str] = set()
    for node in guide.nodes(expanded):
        used.update(key for key in node if not key.startswith("@"))
        used.update(node.get("@type", []))
        for value in node.values():
            if isinstance(value, list):
                used.update(v["@id"] for v in value if isinstance(v, dict) and "@id" in v)
    assert all(iri.startswith(_NAMESPACES) for iri in used), sorted(used)
    unknown = {iri for iri in used if iri.startswith(DPV)} - {DPV + term for term in DPV_TERMS}
    assert unknown == set()


def test_the_record_has_the_guides_structure_in_every_state(http, as_agency, runtime):
    given = recorded(http, as_agency, given_by=[{"role": "custodian"}])
    partly = recorded(http, as_agency, subject=person(1))
    withdraw(http, as_agency, partly, ABH, channel="in_person", grants=[RESIDENCE])
    whole = recorded(http, as_agency, subject=person(2))
    withdraw(http, as_agency, whole, JC, channel="written")
    expired = recorded(http, as_agency, subject=person(3))
    _expire(runtime, expired)
    for consent_id in (given, partly, whole, expired):
        document = record_of(http, as_agency, consent_id)
        conforms(document)
        assert guide.expanded(document)


def test_the_declared_openapi_schema_admits_the_record(http, as_agency):
    openapi = http.get("/openapi.json").json()
    content = openapi["paths"]["/v1/consents/{consent_id}/record"]["get"]["responses"]["200"][
        "content"
    ]
    assert content == {
        "application/ld+json": {"schema": {"$ref": "#/components/schemas/DpvConsentRecord"}}
    }
    validator = jsonschema_rs.Draft202012Validator(
        {"$ref": "#/components/schemas/DpvConsentRecord", "components": openapi["components"]}
    )
    consent_id = recorded(http, as_agency)
    withdraw(http, as_agency, consent_id, JC, channel="written", grants=[BENEFITS])
    validator.validate(record_of(http, as_agency, consent_id))


# -- the status history ----------------------------------------------------------------------


def test_a_given_consent_says_who_gave_it_how_and_for_how_long(http, as_agency):
    consent_id = recorded(
        http, as_agency, given_by=[{"role": "data_subject"}, {"role": "legal_guardian"}]
    )
    document = record_of(http, as_agency, consent_id)
    assert document["gw:status"] == "active"
    assert document["gw:version"] == 1
    [given] = document["dpv:hasConsentStatus"]
    assert given["@type"] == "dpv:ConsentGiven"
    subject, guardian = given["dpv:isIndicatedBy"]
    assert subject == document["dpv:hasDataSubject"]["@id"]
    assert guardian == {"@type": ["dpv:GuardianOfDataSubject", "gw:legal_guardian"]}
    assert given["dpv:isImplementedByEntity"] == "http://localhost/agencies/koeln-jobcenter"
    assert given["gw:documentSha256"] == "ab" * 32
    assert given["dpv:hasDuration"]["rdf:value"] == given["dct:temporal"]["dcat:endDate"]
    assert document["dpv:hasNotice"]["gw:interpreterLanguage"] == "ar"
    assert re.fullmatch(r"[0-9a-f]{64}", document["dpv:hasNotice"]["gw:textSha256"])
    assert not any("dpv:hasConsentStatus" in process for process in document["dpv:hasProcess"])


@pytest.mark.parametrize(
    ("age_band", "kind"),
    [("adult", "dpv:Adult"), ("minor_15_to_17", "dpv:Child"), ("minor_under_15", "dpv:Child")],
)
def test_the_person_is_an_adult_or_a_child_as_recorded(http, as_agency, age_band, kind):
    body = consent_body(given_by=[{"role": "data_subject"}, {"role": "legal_guardian"}])
    body["subject"]["age_band"] = age_band
    response = http.post("/v1/consents", json=body, headers=as_agency(JC))
    assert response.status_code == 201, response.text
    document = record_of(http, as_agency, response.json()["consent_id"])
    assert document["dpv:hasDataSubject"]["@type"] == ["dpv:DataSubject", kind]


def test_a_withdrawn_consent_shows_given_then_withdrawn(http, as_agency):
    consent_id = recorded(http, as_agency)
    withdraw(http, as_agency, consent_id, ABH, channel="in_person")
    document = record_of(http, as_agency, consent_id)
    assert document["gw:status"] == "withdrawn"
    assert [state for state, _ in statuses(document)] == [
        "dpv:ConsentGiven",
        "dpv:ConsentWithdrawn",
    ]
    withdrawn = document["dpv:hasConsentStatus"][-1]
    assert withdrawn["dpv:isIndicatedBy"] == ["http://localhost/agencies/koeln-auslaenderbehoerde"]
    assert withdrawn["dpv:hasIndicationMethod"] == "gw:in_person"
    conforms(document)


def test_a_partial_withdrawal_shows_on_the_grant_it_took_out(http, as_agency):
    consent_id = recorded(http, as_agency)
    withdraw(http, as_agency, consent_id, JC, channel="written", grants=[RESIDENCE])
    document = record_of(http, as_agency, consent_id, agency=SA)
    assert document["gw:status"] == "active"
    assert document["gw:version"] == 2
    assert [state for state, _ in statuses(document)] == ["dpv:ConsentGiven"]
    residence, benefits = document["dpv:hasProcess"]
    assert [p["@id"] for p in residence["dpv:hasPersonalData"]] == ["category:residence_status"]
    [(state, taken_at)] = statuses(residence)
    assert state == "dpv:ConsentWithdrawn"
    assert taken_at > statuses(document)[0][1]
    [taken] = residence["dpv:hasConsentStatus"]
    assert taken["dpv:isIndicatedBy"] == ["http://localhost/agencies/koeln-jobcenter"]
    assert taken["dpv:hasIndicationMethod"] == "gw:written"
    assert "dpv:hasConsentStatus" not in benefits

    withdraw(http, as_agency, consent_id, SA, channel="in_person")
    document = record_of(http, as_agency, consent_id, agency=SA)
    assert [state for state, _ in statuses(document)] == [
        "dpv:ConsentGiven",
        "dpv:ConsentWithdrawn",
    ]
    assert [state for state, _ in statuses(document["dpv:hasProcess"][0])] == [
        "dpv:ConsentWithdrawn"
    ]
    assert "dpv:hasConsentStatus" not in document["dpv:hasProcess"][1]


def test_an_expired_consent_shows_given_then_expired_at_its_end(http, as_agency, runtime):
    consent_id = recorded(http, as_agency)
    withdraw(http, as_agency, consent_id, JC, channel="written", grants=[BENEFITS])
    end = _expire(runtime, consent_id)
    document = record_of(http, as_agency, consent_id)
    assert document["gw:status"] == "expired"
    events = statuses(document)
    assert [state for state, _ in events] == ["dpv:ConsentGiven", "dpv:ConsentExpired"]
    assert events[-1][1] == end
    expired = document["dpv:hasConsentStatus"][-1]
    assert "dpv:isIndicatedBy" not in expired  # nobody declares an expiry: time does
    assert [state for state, _ in statuses(document["dpv:hasProcess"][1])] == [
        "dpv:ConsentWithdrawn"
    ]
    conforms(document)


def _expire(runtime, consent_id: str) -> datetime:
    """End the consent now, as if it had been given until this moment."""
    end = datetime.now(UTC)
    with runtime.database.transaction() as session:
        session.execute(
            update(ConsentVersion)
            .where(ConsentVersion.consent_id == consent_id)
            .values(valid_until=end)
        )
    return end


# -- who sees it ------------------------------------------------------------------------------


@pytest.mark.parametrize("outsider", [JA, BONN])
def test_an_agency_not_party_gets_the_same_404_as_for_the_consent(http, as_agency, outsider):
    consent_id = recorded(http, as_agency)
    consent = http.get(f"/v1/consents/{consent_id}", headers=as_agency(outsider))
    record = http.get(f"/v1/consents/{consent_id}/record", headers=as_agency(outsider))
    assert record.status_code == consent.status_code == 404
    assert record.headers["content-type"] == "application/problem+json"
    assert {k: v for k, v in record.json().items() if k not in ("instance", "request_id")} == {
        k: v for k, v in consent.json().items() if k not in ("instance", "request_id")
    }
    unknown = http.get(
        f"/v1/consents/{'0' * 8}-0000-4000-8000-{'0' * 12}/record", headers=as_agency(JC)
    )
    assert unknown.status_code == 404
    assert unknown.json()["type"] == record.json()["type"]


def test_reading_the_record_needs_consent_read(http, agencies):
    agency = agencies[JC]
    form = token_form(
        client_assertion(agency.id, agency.key, "http://localhost/oauth/token"), "exchange:query"
    )
    token = http.post("/oauth/token", data=form).json()["access_token"]
    response = http.get(
        f"/v1/consents/{'0' * 8}-0000-4000-8000-{'0' * 12}/record",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert http.get(f"/v1/consents/{'0' * 8}-0000-4000-8000-{'0' * 12}/record").status_code == 401


def test_no_other_agencys_reference_appears_in_the_record(http, as_agency):
    """Each party sees the person by its own reference only (promise 5), whatever happened to
    the consent since."""
    consent_id = recorded(http, as_agency)
    withdraw(http, as_agency, consent_id, JC, channel="written", grants=[RESIDENCE])
    for reader, own in REFERENCES.items():
        response = http.get(f"/v1/consents/{consent_id}/record", headers=as_agency(reader))
        assert response.status_code == 200
        assert response.json()["dpv:hasDataSubject"]["dct:identifier"] == own
        for agency, reference in REFERENCES.items():
            if agency != reader:
                assert reference not in response.text, f"{reader} saw {agency}'s reference"
