"""The consent record as a file: the person downloads each of their consents as the W3C DPV
consent record (the same document the agencies read, without any agency's reference for the
person), linked from their consents and the receipt; nobody else's, and not without a session."""

from __future__ import annotations

import json
from datetime import datetime

from tests.consents import dpv_27560 as guide
from tests.portal.conftest import AMIRA, OLEKSII, RESIDENCE, SIGN_IN_AGAIN, csrf_token

RECORD = "/portal/consents/{}/record"


def test_the_person_downloads_their_consent_record_without_any_reference(signed_in, offices):
    recorded = offices.record(AMIRA)
    response = signed_in(recorded).get(RECORD.format(recorded.consent_id))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="consent-{recorded.consent_id}.jsonld"'
    )
    assert response.headers["cache-control"] == "no-store"
    for reference in AMIRA.values():
        assert reference not in response.text
    document = json.loads(response.content)
    assert document["dct:identifier"] == recorded.consent_id
    assert "dct:identifier" not in document["dpv:hasDataSubject"]
    assert [status["@type"] for status in document["dpv:hasConsentStatus"]] == ["dpv:ConsentGiven"]
    assert {agency["dpv:hasName"] for agency in document["dpv:hasEntity"]} == {
        "Ausländerbehörde Köln",
        "Jobcenter Köln",
        "Sozialamt Köln",
    }
    assert guide.record_validator().is_valid(document)
    assert guide.expanded(document)


def test_the_file_is_what_the_agencies_read_less_their_reference(signed_in, offices):
    recorded = offices.record(AMIRA)
    mine = signed_in(recorded).get(RECORD.format(recorded.consent_id)).json()
    api = offices.api.get(
        f"/v1/consents/{recorded.consent_id}/record", headers=offices.headers("koeln-jobcenter")
    ).json()
    del api["dpv:hasDataSubject"]["dct:identifier"]
    assert mine == api


def test_the_consents_page_and_the_receipt_link_to_the_file(signed_in, offices):
    recorded = offices.record(AMIRA)
    client = signed_in(recorded)
    link = f'href="{RECORD.format(recorded.consent_id)}" download>Download the consent as a file<'
    assert link in client.get("/portal/consents").text
    receipt = client.get(f"/portal/consents/{recorded.consent_id}/receipt").text
    assert link in receipt
    assert "ISO/IEC TS 27560" in receipt
    assert "Einwilligung als Datei herunterladen" in client.get("/portal/consents?lang=de").text


def test_a_withdrawal_in_the_portal_is_the_persons_own_in_the_file(signed_in, offices):
    recorded = offices.record(AMIRA)
    client = signed_in(recorded)
    path = f"/portal/consents/{recorded.consent_id}/permissions/1/withdraw"
    page = client.get(path)
    client.post(path, data={"csrf_token": csrf_token(page.text), "version": "1"})
    document = client.get(RECORD.format(recorded.consent_id)).json()
    residence, benefits = document["dpv:hasProcess"]  # the permissions in the page's order
    assert [data["@id"] for data in residence["dpv:hasPersonalData"]] == [
        f"category:{RESIDENCE['categories'][0]}"
    ]
    assert "dpv:hasConsentStatus" not in benefits
    [withdrawn] = residence["dpv:hasConsentStatus"]
    assert withdrawn["@type"] == "dpv:ConsentWithdrawn"
    assert withdrawn["dpv:isIndicatedBy"] == [document["dpv:hasDataSubject"]["@id"]]
    assert withdrawn["dpv:hasIndicationMethod"] == "gw:portal"
    assert datetime.fromisoformat(withdrawn["dpv:isIndicatedAtTime"])
    assert document["gw:version"] == 2


def test_another_persons_record_is_not_found_and_none_without_a_session(signed_in, offices, portal):
    mine, other = offices.record(AMIRA), offices.record(OLEKSII)
    response = portal.get(RECORD.format(other.consent_id))
    assert response.status_code == 303
    assert response.headers["location"] == SIGN_IN_AGAIN
    client = signed_in(mine)
    response = client.get(RECORD.format(other.consent_id))
    assert response.status_code == 404
    assert "There is no such page." in response.text
    for reference in OLEKSII.values():
        assert reference not in response.text
    assert client.get(RECORD.format("not-a-consent")).status_code == 404
