"""My consents: all of this person's consents and none of anyone else's, each with a title of
its own and its state first (with its date), active ones first and ended ones folded; each
permission in plain words under a number it keeps, with its own state; a printable receipt
that says what the person was shown, with what it takes to verify it behind a disclosure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from joserfc import jws
from joserfc.jwk import KeySet
from sqlalchemy import update

from gateway.consents.tables import ConsentVersion
from tests.portal.conftest import (
    ABH,
    AMIRA,
    BENEFITS,
    JA,
    JC,
    OLEKSII,
    RESIDENCE,
    badge,
    csrf_token,
)

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
    assert page.text.count('<section class="card consent"') == 2
    # Two consents of one day have titles of their own (their numbers' first groups).
    for recorded in (first, second):
        number = recorded.consent_id.split("-")[0].upper()
        assert f"Consent no. {number} of " in page.text


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
    active_until = badge("Active", "active") + ' <span class="state-date">until '
    assert f"{active_until}{until:%B} {until.day}, {until.year}</span>" in page
    assert page.count(active_until) == 3  # the consent, two permissions
    for reference in AMIRA.values():
        assert reference not in page
    german = client.get("/portal/consents?lang=de").text
    assert "Ihr Aufenthaltsstatus (welche Aufenthaltserlaubnis Sie haben und bis wann)" in german
    # A permission is a "Freigabe": "Erlaubnis" is left to the residence permit.
    assert "Freigabe 1" in german
    assert "Erlaubnis" not in german.replace("Aufenthaltserlaubnis", "")
    # An office whose name says its kind is not followed by it again.
    assert "<bdi>Jobcenter Köln</bdi> (Jobcenter)" not in german
    assert "<bdi>Jobcenter Köln</bdi> darf an" in german
    assert "um Ihnen bei der Arbeitssuche zu helfen" in german


def test_an_expired_consent_says_so_and_offers_no_withdrawal(signed_in, offices, runtime):
    recorded = offices.record(AMIRA)
    with runtime.database.transaction() as session:
        session.execute(
            update(ConsentVersion).values(valid_until=datetime.now(UTC) - timedelta(days=1))
        )
    page = signed_in(recorded).get("/portal/consents").text
    assert badge("Expired", "expired") + ' <span class="state-date">on ' in page
    assert "/withdraw" not in page
    # Ended, it is folded away, and the page says none is active.
    assert '<details class="ended-consents">' in page
    assert page.index("<details") < page.index('<section class="card consent"')
    assert "None of your consents is active now." in page


def test_a_partly_withdrawn_consent_keeps_each_permissions_number(signed_in, offices):
    recorded = offices.record(AMIRA, RESIDENCE, BENEFITS, CONFERENCES)
    offices.api.post(
        f"/v1/consents/{recorded.consent_id}/withdraw",
        json={"channel": "in_person", "grants": [CONFERENCES]},
        headers=offices.headers(JC),
    )
    client = signed_in(recorded)
    page = client.get("/portal/consents").text
    # Numbered in the consent's (sorted) order: residence, conferences, benefits.
    permissions = page.split('<div class="permission')[1:]
    assert [f"Permission {number}</h3>" in item for number, item in enumerate(permissions, 1)] == [
        True
    ] * 3
    assert "invitations to meetings about your case" in permissions[1]
    today = datetime.now(UTC).astimezone(TIME_ZONE)
    withdrawn_on = f'<span class="state-date">on {today:%B} {today.day}, {today.year}</span>'
    assert badge("Withdrawn", "ended") + " " + withdrawn_on in permissions[1]
    # A withdrawn permission reads as over, in the past tense with its end; the others not.
    day = f"{today:%B} {today.day}, {today.year}"
    over = f"Until {day}, <bdi>Jobcenter Köln</bdi> (job centre) was allowed to tell "
    assert over in permissions[1]
    assert " may tell " not in permissions[1]
    assert " may tell " in permissions[0]
    assert " may tell " in permissions[2]
    german = client.get("/portal/consents?lang=de").text.split('<div class="permission')[2]
    assert f"Bis zum {today.day}. " in german
    assert "durfte <bdi>Jobcenter Köln</bdi> an <bdi>Jugendamt Köln</bdi> weitergeben:" in german
    assert "which benefits you get" in permissions[2]
    assert badge("Active", "active") in permissions[2]
    # Withdrawing alone is offered for 1 and 3, under their own numbers.
    base = f"/portal/consents/{recorded.consent_id}/permissions"
    assert f'href="{base}/1/withdraw"' in page
    assert f'href="{base}/2/withdraw"' not in page
    assert f'href="{base}/3/withdraw"' in page
    receipt = client.get(f"/portal/consents/{recorded.consent_id}/receipt?lang=en").text
    assert badge("Replaced by a newer version", "expired") in receipt
    assert "Permission 3</h3>" in receipt


def test_a_withdrawn_consent_says_when_and_reads_as_ended(signed_in, offices):
    recorded = offices.record(AMIRA)
    offices.api.post(
        f"/v1/consents/{recorded.consent_id}/withdraw",
        json={"channel": "written"},
        headers=offices.headers(JC),
    )
    client = signed_in(recorded)
    page = client.get("/portal/consents").text
    today = datetime.now(UTC).astimezone(TIME_ZONE)
    withdrawn_on = f'<span class="state-date">on {today:%B} {today.day}, {today.year}</span>'
    assert page.count(badge("Withdrawn", "ended") + " " + withdrawn_on) == 3  # it, both permissions
    folded = page.split('<details class="ended-consents">', 1)[1].split("</details>")[0]
    assert '<span class="state-date">until' not in folded
    assert "Recorded by <bdi>Jobcenter Köln</bdi> (job centre)." in page
    # Nothing of it reads as current: each permission in the past tense, and the receipt
    # gives its planned end as over.
    assert " may tell " not in folded
    assert folded.count(" was allowed to tell ") == 2
    receipt = client.get(f"/portal/consents/{recorded.consent_id}/receipt").text
    assert '<th scope="row">Was meant to run until</th>' in receipt
    assert '<th scope="row">Valid until</th>' not in receipt


def test_active_consents_come_first_and_ended_ones_are_folded(signed_in, offices):
    ended = offices.record(AMIRA, BENEFITS)
    offices.api.post(
        f"/v1/consents/{ended.consent_id}/withdraw",
        json={"channel": "written"},
        headers=offices.headers(JC),
    )
    active = offices.record(AMIRA, RESIDENCE)
    page = signed_in(active).get("/portal/consents").text
    folded = page.split('<details class="ended-consents">', 1)[1]
    assert "Consents that have ended (1)" in folded
    assert ended.consent_id in folded
    assert active.consent_id not in folded
    assert page.index(active.consent_id) < page.index('<details class="ended-consents">')


def test_each_office_on_a_page_is_explained_in_a_sentence_in_every_language(signed_in, offices):
    client = signed_in(offices.record(AMIRA))
    page = client.get("/portal/consents").text
    offices_part = page.split('<section class="offices"', 1)[1]
    assert "The job centre helps you find work and pays basic income support" in offices_part
    assert "The foreigners' office decides about your right to stay" in offices_part
    assert "The social welfare office pays money for living" in offices_part
    assert offices_part.count("<dt>") == 3  # each office once
    arabic = client.get("/portal/consents?lang=ar").text
    assert "يساعدك مركز العمل (Jobcenter) في إيجاد عمل" in arabic
    ukrainian = client.get("/portal/consents?lang=uk").text
    assert "Джобцентр (Jobcenter) допомагає знайти роботу" in ukrainian


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
    # The signature and the keys' address are behind a disclosure, for whoever helps.
    verification = page.text.split('<details class="verification">', 1)[1].split("</details>")[0]
    jwks_url = "http://localhost/.well-known/jwks.json"
    assert jwks_url in verification
    assert api["receipt"] in verification
    # The receipt verifies with the published keys, as the page says.
    keys = KeySet.import_key_set(offices.api.get("/.well-known/jwks.json").json())
    verified = jws.deserialize_compact(api["receipt"], keys, algorithms=["EdDSA"])
    assert recorded.consent_id.encode() in verified.payload
    # Printing leaves out the menus and forms (the style sheet's print rules).
    assert 'href="/static/style.css"' in page.text
    assert csrf_token(page.text)  # the sign-out form, hidden in print


def test_the_receipt_says_what_the_person_was_shown(signed_in, offices):
    recorded = offices.record(AMIRA)  # the Arabic form, with an Arabic interpreter
    client = signed_in(recorded)
    page = client.get(f"/portal/consents/{recorded.consent_id}/receipt").text
    assert "Consent: offices working together on your case" in page
    # The form's identifier and version are for whoever checks the receipt, not its reader.
    table = page.split('<table class="receipt">', 1)[1].split("</table>", 1)[0]
    assert "cross-agency-case-management" not in table
    verification = page.split('<details class="verification">', 1)[1].split("</details>")[0]
    identifier = '<dd><code dir="ltr">cross-agency-case-management</code>'
    assert f"<dt>Form identifier</dt>\n  {identifier}" in verification
    assert "<dt>Version</dt>\n  <dd>1</dd>" in verification
    assert '<th scope="row">Language of the form</th><td>Arabic</td>' in page
    assert "<td>Yes, for Arabic</td>" in page
    assert "<td>You signed it on paper.</td>" in page
    german = client.get(f"/portal/consents/{recorded.consent_id}/receipt?lang=de").text
    assert "Einwilligung: Ämter arbeiten bei Ihrem Fall zusammen" in german
    assert "<td>Arabisch</td>" in german
    assert "<td>Ja, für Arabisch</td>" in german


def test_the_receipt_offers_a_print_button_from_a_script_file_and_says_how_without(
    signed_in, offices
):
    recorded = offices.record(AMIRA)
    page = signed_in(recorded).get(f"/portal/consents/{recorded.consent_id}/receipt").text
    # The button waits hidden for /static/print.js; without script the hint says how to print.
    assert '<button type="button" id="print-button" hidden>Print this receipt</button>' in page
    assert "To print this page, use the print function of your browser." in page
    assert page.count("<script") == 1
    assert '<script src="/static/print.js" defer></script>' in page


def test_a_consent_in_the_list_has_links_but_no_code_or_reference_in_them(signed_in, offices):
    recorded = offices.record(AMIRA)
    page = signed_in(recorded).get("/portal/consents").text
    assert f'href="/portal/consents/{recorded.consent_id}/receipt"' in page
    assert recorded.portal_code not in page
    assert recorded.portal_code.replace("-", "") not in page
