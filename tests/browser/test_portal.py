"""The client portal in a real browser at phone width: a person signs in with the code from
their receipt, switches to Arabic, withdraws one permission through its confirmation page, and
the next exchange under it is refused; wrong codes are refused and then locked out. Every
portal page, left to right and right to left, is free of serious accessibility problems.

Screenshots of each page in German and Arabic go to /tmp/shots/portal-<page>-<lang>.png, for
people to look at (nothing compares them)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from gateway.client import AgencyKey, GatewayClient, TokenSource
from gateway.subjects.repository import subject_of
from tests.browser.conftest import serious_violations
from tests.portal.conftest import (
    ABH,
    AMIRA,
    BENEFITS,
    JA,
    JC,
    RESIDENCE,
    consent_body,
    register_offices,
)
from tests.support import LiveServer, RegisteredClient, add_release, client_assertion, token_form

SHOTS = Path(tempfile.gettempdir()) / "shots"
CONFERENCES = {"from": JC, "to": JA, "categories": ["case_conference"],
               "purposes": ["case_management"]}  # fmt: skip


class Offices:
    """The offices' systems, calling the live gateway's API."""

    def __init__(self, site: LiveServer):
        self.site = site
        self.registered: dict[str, RegisteredClient] = register_offices(site.runtime)

    def headers(self, agency_id: str) -> dict[str, str]:
        agency = self.registered[agency_id]
        endpoint = self.site.token_endpoint
        form = token_form(client_assertion(agency.id, agency.key, endpoint))
        token = httpx.post(endpoint, data=form).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: dict[str, Any], agency_id: str) -> httpx.Response:
        return httpx.post(f"{self.site.url}{path}", json=body, headers=self.headers(agency_id))

    def record(self) -> dict[str, Any]:
        body = consent_body(AMIRA, RESIDENCE, BENEFITS, CONFERENCES)
        response = self.post("/v1/consents", body, JC)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def ask_for_residence(self) -> httpx.Response:
        query = {"provider": ABH, "subject_ref": AMIRA[JC], "categories": ["residence_status"],
                 "purpose": "labour_market_integration"}  # fmt: skip
        return self.post("/v1/exchanges", query, JC)

    def invite(self) -> None:
        """The job centre invites the youth welfare office to a case conference about Amira,
        which fetches the invitation (two entries in her history)."""
        starts = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        message = {"recipient": JA, "subject_ref": AMIRA[JC], "category": "case_conference",
                   "purpose": "case_management",
                   "payload": {"starts_at": starts, "location": "Jobcenter Köln, Raum 2.14",
                               "topic": "Hilfeplan", "participants": [JC, JA]}}  # fmt: skip
        sent = self.post("/v1/messages", message, JC)
        assert sent.status_code == 202, sent.text
        fetched = httpx.get(
            f"{self.site.url}/v1/messages/{sent.json()['message_id']}", headers=self.headers(JA)
        )
        assert fetched.status_code == 200, fetched.text

    def released(self, consent_id: str) -> str:
        """The foreigners' office's answer about Amira's residence, as the ledger records it."""
        with self.site.runtime.database.transaction() as session:
            subject = subject_of(session, JC, AMIRA[JC])
            assert subject is not None
            return add_release(
                session,
                provider=ABH,
                recipient=JC,
                subject_id=subject,
                category="residence_status",
                consent_id=consent_id,
            )

    def rectifications(self, agency_id: str) -> list[dict[str, Any]]:
        url = f"{self.site.url}/v1/rectifications"
        answer = httpx.get(url, headers=self.headers(agency_id))
        assert answer.status_code == 200, answer.text
        return list(answer.json()["rectifications"])


@pytest.fixture
def offices(site: LiveServer) -> Offices:
    return Offices(site)


def sign_in(page: Page, site: LiveServer, code: str) -> int:
    page.goto(f"{site.url}/portal/")
    page.fill("#code", code)
    with page.expect_response(lambda answer: answer.request.method == "POST") as answer:
        page.click("main button[type=submit]")
    page.wait_for_load_state()
    return answer.value.status


def accessible_and_shot(page: Page, name: str, lang: str) -> None:
    assert page.locator("html").get_attribute("lang") == lang
    direction = "rtl" if lang in ("ar", "fa") else "ltr"
    assert page.locator("html").get_attribute("dir") == direction
    assert serious_violations(page) == [], (name, lang)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"portal-{name}-{lang}.png"), full_page=True)


def test_a_person_signs_in_switches_to_arabic_and_withdraws_one_permission(site, page, offices):
    recorded = offices.record()
    assert sign_in(page, site, recorded["portal_code"]) == 303
    assert page.url.endswith("/portal/consents")
    assert page.locator("h1").inner_text() == "Meine Einwilligungen"

    page.click('nav.languages a[hreflang="ar"]')
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("h1").inner_text() == "موافقاتي"

    page.click(f'a[href="/portal/consents/{recorded["consent_id"]}/permissions/1/withdraw"]')
    assert page.locator("h1").inner_text() == "هل تريد سحب هذا الإذن؟"
    assert page.locator("html").get_attribute("dir") == "rtl"  # the choice is remembered
    assert serious_violations(page) == []
    page.click("main button.danger")
    page.wait_for_load_state()
    assert page.url.endswith("/portal/consents?notice=permission-withdrawn")
    assert page.locator(".notice.ok").inner_text().startswith("تم سحب الإذن.")
    assert serious_violations(page) == []

    refused = offices.ask_for_residence()
    assert refused.status_code == 403
    assert refused.json()["reason"] == "consent_withdrawn"
    page.click('a[href="/portal/history"]')
    assert "كنت قد سحبت موافقتك." in page.locator("main").inner_text()  # the refusal's reason
    assert serious_violations(page) == []


def test_a_person_says_what_an_office_passed_on_is_wrong_and_sees_the_answer(site, page, offices):
    """The rectification round trip: the person flags a release on the history page with a
    text, the foreigners' office (the provider) reads it with its own reference and answers
    that it did not correct it, and the person sees why; every page is accessible."""
    recorded = offices.record()
    offices.released(recorded["consent_id"])
    assert sign_in(page, site, recorded["portal_code"]) == 303
    page.click('a[href="/portal/history"]')
    page.click("main section.release a")
    assert page.locator("h1").inner_text() == "Das ist über mich falsch"
    assert serious_violations(page) == []
    page.fill("#text", "Meine Erlaubnis gilt bis 2027.")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/portal/history?notice=wrong-sent")
    assert "Das Amt prüft es" in page.locator(".notice.ok").inner_text()
    assert "Es hat noch nicht geantwortet." in page.locator("main section.release").inner_text()
    assert page.locator("main section.release a").count() == 0  # one open notice
    assert serious_violations(page) == []

    assert offices.rectifications(JC) == []  # the recipient is not told
    agency = offices.registered[ABH]
    tokens = TokenSource(site.token_endpoint, AgencyKey(agency.id, agency.key))
    with GatewayClient(site.url, tokens) as foreigners_office:  # its system, through the SDK
        (notice,) = foreigners_office.rectifications()
        assert notice["subject_ref"] == AMIRA[ABH]
        assert notice["text"] == "Meine Erlaubnis gilt bis 2027."
        reason = "Die Verlängerung liegt uns nicht vor."
        foreigners_office.acknowledge_rectification(
            notice["rectification_id"], "not_corrected", reason
        )
        assert foreigners_office.rectifications() == []

    page.click('nav.languages a[hreflang="ar"]')
    release = page.locator("main section.release").inner_text()
    assert "لم يتم التصحيح" in release  # not corrected
    assert "Die Verlängerung liegt uns nicht vor." in release
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert serious_violations(page) == []


def test_wrong_codes_are_refused_and_then_locked_out(site, page, offices):
    offices.record()
    limit = site.runtime.settings.login_max_failures
    for _ in range(limit - 1):
        assert sign_in(page, site, "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ") == 400
        assert "Dieser Code hat nicht funktioniert." in page.locator("[role=alert]").inner_text()
    assert page.locator("#code").get_attribute("aria-invalid") == "true"
    assert serious_violations(page) == []
    assert sign_in(page, site, "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ") == 429
    assert "Zu viele Versuche." in page.locator("[role=alert]").inner_text()
    assert sign_in(page, site, "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ") == 429
    assert serious_violations(page) == []
    assert "gw_portal" not in {cookie["name"] for cookie in page.context.cookies()}


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_every_portal_page_is_accessible_left_to_right_and_right_to_left(site, page, offices, lang):
    recorded = offices.record()
    offices.invite()
    offices.ask_for_residence()  # no provider answers: refused or failed, either way history
    consent = recorded["consent_id"]

    page.goto(f"{site.url}/portal/?lang={lang}")
    accessible_and_shot(page, "sign-in", lang)
    sign_in(page, site, "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ")
    accessible_and_shot(page, "sign-in-refused", lang)
    sign_in(page, site, recorded["portal_code"])
    pages = {
        "consents": "/portal/consents",
        "receipt": f"/portal/consents/{consent}/receipt",
        "confirm": f"/portal/consents/{consent}/withdraw",
        "confirm-permission": f"/portal/consents/{consent}/permissions/2/withdraw",
        "history": "/portal/history",
        "wrong": f"/portal/history/releases/{offices.released(consent)}/residence_status/wrong",
        "error": "/portal/no-such-page",
    }
    for name, path in pages.items():
        page.goto(f"{site.url}{path}")
        accessible_and_shot(page, name, lang)
    # Printed, the receipt is only the receipt: no menus, no forms.
    page.goto(f"{site.url}{pages['receipt']}")
    page.emulate_media(media="print")
    assert not page.locator("header nav").first.is_visible()
    assert not page.locator("form").first.is_visible()
    assert page.locator("main table").first.is_visible()
    page.screenshot(path=str(SHOTS / f"portal-receipt-print-{lang}.png"), full_page=True)
    page.emulate_media(media="screen")
    page.goto(f"{site.url}{pages['confirm-permission']}")
    page.click("main button.danger")
    page.wait_for_load_state()
    accessible_and_shot(page, "consents-after-withdrawal", lang)
    page.click("header button[type=submit]")  # sign out
    page.wait_for_load_state()
    assert page.url.endswith("/portal/?notice=signed-out")
    accessible_and_shot(page, "signed-out", lang)
