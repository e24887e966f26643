"""What every portal page shares: six languages (right to left in Arabic and Farsi), the
choice remembered, strict security headers, and no personal data in any address or log line."""

from __future__ import annotations

import logging
import re

import pytest

from gateway.web.security import CONTENT_SECURITY_POLICY, RECEIPT_CONTENT_SECURITY_POLICY
from tests.portal.conftest import AMIRA, csrf_token, sign_in

LANGUAGES = ["de", "en", "ar", "uk", "tr", "fa"]
_H1 = re.compile(r"<h1>(.*?)</h1>", re.S)


def _pages(consent_id: str) -> dict[str, str]:
    return {
        "consents": "/portal/consents",
        "receipt": f"/portal/consents/{consent_id}/receipt",
        "confirm": f"/portal/consents/{consent_id}/withdraw",
        "confirm-permission": f"/portal/consents/{consent_id}/permissions/1/withdraw",
        "history": "/portal/history",
        "help": "/portal/help",
        "error": "/portal/no-such-page",
    }


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_page_renders_in_each_language_and_direction(signed_in, portal, offices, code):
    recorded = offices.record(AMIRA)
    english = {"sign-in": _H1.search(portal.get("/portal/?lang=en").text)}
    sign_in_page = portal.get(f"/portal/?lang={code}")
    client = signed_in(recorded)
    pages = {"sign-in": sign_in_page}
    for name, path in _pages(recorded.consent_id).items():
        english[name] = _H1.search(client.get(f"{path}?lang=en").text)
        pages[name] = client.get(f"{path}?lang={code}")
    direction = "rtl" if code in ("ar", "fa") else "ltr"
    for name, response in pages.items():
        assert response.status_code == (404 if name == "error" else 200), name
        assert f'<html lang="{code}" dir="{direction}">' in response.text, name
        heading = _H1.search(response.text)
        assert heading is not None, name
        if code != "en":
            english_heading = english[name]
            assert english_heading is not None
            assert heading.group(1) != english_heading.group(1), (name, heading.group(1))


def test_the_language_chosen_is_remembered(signed_in, offices):
    client = signed_in(offices.record(AMIRA))
    client.get("/portal/consents?lang=fa")
    again = client.get("/portal/history")
    assert '<html lang="fa" dir="rtl">' in again.text


def test_every_portal_answer_carries_the_security_headers(portal, offices):
    recorded = offices.record(AMIRA)
    answers = [
        portal.get("/portal/"),
        sign_in(portal, "WRONG-CODE"),
        sign_in(portal, recorded.portal_code),
    ]
    for path in _pages(recorded.consent_id).values():
        answers.append(portal.get(path))
    token = csrf_token(answers[-2].text)
    answers.append(portal.post(_pages(recorded.consent_id)["confirm"], data={"csrf_token": token}))
    answers.append(portal.post("/portal/sign-out", data={"csrf_token": token}))
    answers.append(portal.get("/portal/consents"))  # signed out: a redirect
    for response in answers:
        headers = response.headers
        policy = headers["content-security-policy"]
        receipt = response.url.path.endswith("/receipt")  # its print button's script file
        assert policy == (RECEIPT_CONTENT_SECURITY_POLICY if receipt else CONTENT_SECURITY_POLICY)
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"
    statuses = {response.status_code for response in answers}
    assert {200, 303, 400, 404} <= statuses


def test_no_page_has_inline_script_or_style(signed_in, offices):
    """The receipt's print button is the only script: a file of this origin, never inline."""
    recorded = offices.record(AMIRA)
    client = signed_in(recorded)
    for name, path in _pages(recorded.consent_id).items():
        html = client.get(path).text
        scripts = re.findall(r"<script[^>]*>.*?</script>", html, re.S)
        expected = ['<script src="/static/print.js" defer></script>'] if name == "receipt" else []
        assert scripts == expected, name
        assert "style=" not in html
        assert "<style" not in html
        assert " on" + "click=" not in html


def test_no_personal_data_in_any_address_or_log_line(portal, offices, caplog):
    recorded = offices.record(AMIRA)
    caplog.set_level(logging.DEBUG)
    secrets = [recorded.portal_code, recorded.portal_code.replace("-", ""), *AMIRA.values()]
    addresses = []
    responses = [sign_in(portal, "ABCDE-FGHJK-LMNPQ-RSTUV"), sign_in(portal, recorded.portal_code)]
    for path in _pages(recorded.consent_id).values():
        responses.append(portal.get(path))
    page = portal.get(_pages(recorded.consent_id)["confirm-permission"])
    responses.append(
        portal.post(
            _pages(recorded.consent_id)["confirm-permission"],
            data={"csrf_token": csrf_token(page.text), "version": "1"},
        )
    )
    responses.append(portal.post("/portal/sign-out", data={"csrf_token": csrf_token(page.text)}))
    for response in responses:
        addresses.append(str(response.request.url))
        addresses.append(response.headers.get("location", ""))
        addresses += re.findall(r'(?:href|action)="([^"]*)"', response.text)
    assert len(addresses) > 50
    logged = [str(record.__dict__) for record in caplog.records]
    assert any("/portal/" in line for line in logged)  # the access log did write
    for secret in secrets:
        assert not [address for address in addresses if secret in address], secret
        assert not [line for line in logged if secret in line], secret


def test_no_page_shows_a_sentence_ending_in_two_full_stops(signed_in, portal, offices):
    recorded = offices.record(AMIRA)
    client = signed_in(recorded)
    for code in LANGUAGES:
        for path in _pages(recorded.consent_id).values():
            text = re.sub(r"<[^>]+>", "", client.get(f"{path}?lang={code}").text)
            assert not re.search(r"(?<!\.)\.\.(?!\.)", text), (code, path)


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("notice=withdrawn", "Ihre Einwilligung ist widerrufen."),
        ("notice=permission-withdrawn&permission=2", "Die Freigabe 2 ist widerrufen."),
    ],
)
def test_a_withdrawal_notice_stays_on_a_language_switch(signed_in, offices, query, said):
    client = signed_in(offices.record(AMIRA))
    page = client.get(f"/portal/consents?{query}").text
    switch = re.search(r'href="([^"]*lang=de)"', page)
    assert switch is not None
    german = client.get(switch.group(1).replace("&amp;", "&")).text
    assert said in german.split('<div class="notice ok"', 1)[1].split("</div>")[0]


@pytest.mark.parametrize("number", ["２", "1x", "-1", "12345", "%3Cb%3E", ""])
def test_a_withdrawn_permissions_notice_shows_only_digits_it_was_given(signed_in, offices, number):
    """Anything but plain digits in the address is left out: the general notice is shown."""
    client = signed_in(offices.record(AMIRA))
    response = client.get(f"/portal/consents?notice=permission-withdrawn&permission={number}")
    assert response.status_code == 200
    notice = response.text.split('<div class="notice ok"', 1)[1].split("</div>")[0]
    assert "The permission is withdrawn." in notice
    assert "Permission " not in notice


def test_a_page_after_signing_out_says_why_it_asks_to_sign_in_again(signed_in, offices):
    client = signed_in(offices.record(AMIRA))
    token = csrf_token(client.get("/portal/consents").text)
    client.post("/portal/sign-out", data={"csrf_token": token})
    back = client.get("/portal/consents")  # the browser's back button, a bookmark
    assert back.headers["location"] == "/portal/?notice=session-ended"
    page = client.get(back.headers["location"]).text
    assert "You were signed out, or your session ended" in page
    assert "please sign in again" in page
    # Signed-in visitors are not told; a plain visit to the sign-in page says nothing of it.
    assert "your session ended" not in client.get("/portal/").text


def test_times_on_the_pages_name_their_time_zone(signed_in, offices):
    recorded = offices.record(AMIRA)
    client = signed_in(recorded)
    receipt = client.get(f"/portal/consents/{recorded.consent_id}/receipt").text
    assert "(Central European Time)</td>" in receipt
    german = client.get(f"/portal/consents/{recorded.consent_id}/receipt?lang=de").text
    assert "(Mitteleuropäische Zeit)</td>" in german
