"""My consents: all of this person's consents and none of anyone else's, each permission in
plain words with its status; a printable receipt with what it takes to verify it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from joserfc import jws
from joserfc.jwk import KeySet
from sqlalchemy import update

from gateway.consents.tables import ConsentVersion
from tests.portal.conftest import ABH, AMIRA, BENEFITS, JA, JC, OLEKSII, RESIDENCE, csrf_token

TIME_ZONE = ZoneInfo("Europe/Berlin")  # the settings' default
CONFERENCES = {"from": JC, "to": JA, "categories": ["case_conference"],
               "purposes": ["case_management"]}  # fmt: skip


def test_my_consents_are_all_of_this_persons_consents_and_no_one_elses(signed_in, offices):
    first = offices.record(AMIRA)
    second = offices.record(AMIRA, BENEFITS)
    other = offices.record(OLEKSII)
    page = signed_in(second).get("/portal/consents")
    assert page.status_code == 200
    assert first.consent_id in page.text
    assert second.consent_id in page.text
    assert other.consent_id not in page.text
    assert page.text.count('<section class="card"') == 2


def test_another_persons_consent_is_not_found(signed_in, offices):
    client = signed_in(offices.record(AMIRA))
    other = offices.record(OLEKSII)
    for path in ("receipt", "withdraw", "permissions/1/withdraw"):
        response = client.get(f"/portal/consents/{other.consent_id}/{path}")
        assert response.status_code == 404, path
        assert "There is no such page." in response.text
        assert "Jobcenter" not in response.text
    assert client.get("/portal/consents/not-a-consent/receipt").status_code == 404


def test_each_permission_says_who_may_tell_whom_what_for_what_until_when(signed_in, offices):
    client = signed_in(offices.record(AMIRA))
    page = client.get("/portal/consents").text
    assert "<bdi>Ausländerbehörde Köln</bdi> (foreigners' office) may tell " in page
    assert "<bdi>Jobcenter Köln</bdi> (job centre):" in page
    assert "your residence status (which permit you have and until when)" in page
    assert "to help you find work" in page
    assert "which benefits you get (money for living)" in page
    # The page gives dates in the city's time zone, where the day may already be the next.
    until = (datetime.now(UTC) + timedelta(days=365)).astimezone(TIME_ZONE)
    assert f"{until:%B} {until.day}, {until.year}" in page
    assert page.count('<span class="status">Active</span>') == 3  # the consent, two permissions
    for reference in AMIRA.values():
        assert reference not in page
    german = client.get("/portal/consents?lang=de").text
    assert "Ihr Aufenthaltsstatus (welche Erlaubnis Sie haben und bis wann)" in german
    assert "um Ihnen bei der Arbeitssuche zu helfen" in german


def test_an_expired_consent_says_so_and_offers_no_withdrawal(signed_in, offices, runtime):
    recorded = offices.record(AMIRA)
    with runtime.database.transaction() as session:
        session.execute(
            update(ConsentVersion).values(valid_until=datetime.now(UTC) - timedelta(days=1))
        )
    page = signed_in(recorded).get("/portal/consents").text
    assert '<span class="status">Expired</span>' in page
    assert "/withdraw" not in page


def test_a_partly_withdrawn_consent_shows_what_went_and_its_versions(signed_in, offices):
    recorded = offices.record(AMIRA, RESIDENCE, BENEFITS, CONFERENCES)
    offices.api.post(
        f"/v1/consents/{recorded.consent_id}/withdraw",
        json={"channel": "in_person", "grants": [CONFERENCES]},
        headers=offices.headers(JC),
    )
    client = signed_in(recorded)
    page = client.get("/portal/consents").text
    assert "Withdrawn permission" in page
    assert "invitations to meetings about your case" in page
    assert page.count("Withdraw only this permission") == 2
    receipt = client.get(f"/portal/consents/{recorded.consent_id}/receipt").text
    assert "<td>Replaced by a newer version</td>" in receipt
    assert "<td>Active</td>" in receipt


def test_the_receipt_carries_what_it_takes_to_verify_it(signed_in, offices):
    recorded = offices.record(AMIRA)
    client = signed_in(recorded)
    page = client.get(f"/portal/consents/{recorded.consent_id}/receipt")
    assert page.status_code == 200
    api = offices.api.get(
        f"/v1/consents/{recorded.consent_id}/receipt", headers=offices.headers(ABH)
    ).json()
    assert api["receipt"] in page.text
    assert f'<code dir="ltr">{recorded.consent_id}</code>' in page.text
    assert '<th scope="row">Version</th><td>1</td>' in page.text
    jwks_url = "http://localhost/.well-known/jwks.json"
    assert jwks_url in page.text
    # The receipt verifies with the published keys, as the page says.
    keys = KeySet.import_key_set(offices.api.get("/.well-known/jwks.json").json())
    verified = jws.deserialize_compact(api["receipt"], keys, algorithms=["EdDSA"])
    assert recorded.consent_id.encode() in verified.payload
    # Printing leaves out the menus and forms (the style sheet's print rules).
    assert 'href="/static/style.css"' in page.text
    assert csrf_token(page.text)  # the sign-out form, hidden in print


def test_a_consent_in_the_list_has_links_but_no_code_or_reference_in_them(signed_in, offices):
    recorded = offices.record(AMIRA)
    page = signed_in(recorded).get("/portal/consents").text
    assert f'href="/portal/consents/{recorded.consent_id}/receipt"' in page
    assert recorded.portal_code not in page
    assert recorded.portal_code.replace("-", "") not in page
