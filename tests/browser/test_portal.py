"""The client portal in a real browser at phone width: a person signs in with the code from
their receipt, switches to Arabic, withdraws one permission through its confirmation page, and
the next exchange under it is refused; wrong codes are refused and then locked out. Every
portal page, left to right and right to left, is free of serious accessibility problems.

Screenshots of each page in German and Arabic, on a phone and a desktop, go to
$GATEWAY_TEST_SHOTS when set (`make shots`) as portal-<page>-<lang>-<width>.png, for people to look
at (nothing compares them)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from gateway.client import AgencyKey, GatewayClient, TokenSource
from gateway.subjects.repository import subject_of
from tests.browser.conftest import keep, serious_violations, shoot
from tests.portal.conftest import (
    ABH,
    AMIRA,
    BENEFITS,
    JA,
    JC,
    RESIDENCE,
    SA,
    consent_body,
    register_offices,
)
from tests.support import LiveServer, RegisteredClient, add_release, client_assertion, token_form

WIDTHS = (390, 1280)
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

    def ask_for_benefits(self) -> httpx.Response:
        """The social welfare office asks the job centre (permission 3 of ``record``)."""
        query = {"provider": JC, "subject_ref": AMIRA[SA], "categories": ["benefit_status"],
                 "purpose": "benefit_entitlement"}  # fmt: skip
        return self.post("/v1/exchanges", query, SA)

    def send_invitation(self) -> httpx.Response:
        """The job centre invites the youth welfare office (permission 2 of ``record``)."""
        starts = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        message = {"recipient": JA, "subject_ref": AMIRA[JC], "category": "case_conference",
                   "purpose": "case_management",
                   "payload": {"starts_at": starts, "location": "Raum 2.14", "topic": "Hilfeplan",
                               "participants": [JC, JA]}}  # fmt: skip
        return self.post("/v1/messages", message, JC)

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
    # Nothing sticks out sideways: a phone scrolls down only.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, (name, lang, overflow)
    width = page.viewport_size["width"] if page.viewport_size else 0
    shoot(page, f"portal-{name}-{lang}-{width}")


def assert_sign_out_sits_on_the_menu_row(page: Page) -> None:
    """The sign-out button shares a line with the menu's last link, centred on it."""
    link = page.locator("header nav.portal a").last.bounding_box()
    button = page.locator("header nav.portal button").bounding_box()
    assert link is not None
    assert button is not None
    link_middle = link["y"] + link["height"] / 2
    button_middle = button["y"] + button["height"] / 2
    assert abs(link_middle - button_middle) <= 3, (link, button)


def test_a_person_signs_in_switches_to_arabic_and_withdraws_one_permission(site, page, offices):
    recorded = offices.record()
    assert sign_in(page, site, recorded["portal_code"]) == 303
    assert page.url.endswith("/portal/consents")
    assert page.locator("h1").inner_text() == "Meine Einwilligungen"

    page.click('nav.languages a[hreflang="ar"]')
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("h1").inner_text() == "موافقاتي"

    page.click(f'a[href="/portal/consents/{recorded["consent_id"]}/permissions/1/withdraw"]')
    assert page.locator("h1").inner_text() == "هل تريد سحب الإذن 1؟"
    assert page.locator("html").get_attribute("dir") == "rtl"  # the choice is remembered
    assert serious_violations(page) == []
    page.click("main button.danger")
    page.wait_for_load_state()
    assert page.url.endswith("/portal/consents?notice=permission-withdrawn&permission=1")
    assert page.locator(".notice.ok").inner_text().startswith("تم سحب الإذن 1.")
    assert serious_violations(page) == []
    # The notice, naming the permission, stays on a language switch.
    page.click('nav.languages a[hreflang="de"]')
    assert page.locator(".notice.ok").inner_text().startswith("Die Freigabe 1 ist widerrufen.")
    page.click('nav.languages a[hreflang="ar"]')

    refused = offices.ask_for_residence()
    assert refused.status_code == 403
    assert refused.json()["reason"] == "consent_withdrawn"
    page.click('a[href="/portal/history"]')
    number = recorded["consent_id"].split("-")[0].upper()
    # The refusal's reason names the one permission withdrawn, not the whole consent.
    said = f"كنت قد سحبت الإذن 1 من موافقتك رقم {number}."
    assert said in page.locator("main").inner_text()
    assert serious_violations(page) == []


def _permission(page: Page, number: int) -> str:
    heading = page.locator("main .permission h3", has_text=re.compile(rf"^Freigabe {number}$"))
    assert heading.count() == 1, number
    return heading.locator("xpath=..").inner_text()


def test_withdrawing_permission_2_keeps_1_and_3_under_their_numbers(site, page, offices):
    """A person told on the phone to withdraw "number 2" withdraws number 2; numbers stay, so
    withdrawing "number 3" next withdraws exactly that one."""
    recorded = offices.record()  # 1: residence, 2: case conferences, 3: benefits
    consent = recorded["consent_id"]
    assert sign_in(page, site, recorded["portal_code"]) == 303
    assert "Einladungen zu Treffen" in _permission(page, 2)
    page.click(f'a[href="/portal/consents/{consent}/permissions/2/withdraw"]')
    assert page.locator("h1").inner_text() == "Freigabe 2 widerrufen?"
    page.click("main button.danger")
    page.wait_for_load_state()
    assert page.url.endswith("/portal/consents?notice=permission-withdrawn&permission=2")

    today = page.locator("main").inner_text()
    assert "Die Freigabe 2 ist widerrufen." in today
    assert "Ihre anderen Freigaben behalten ihre Nummern." in today
    first, second, third = (_permission(page, number) for number in (1, 2, 3))
    assert "Ihr Aufenthaltsstatus" in first
    assert "Gültig" in first
    assert "Einladungen zu Treffen" in second
    assert re.search(r"Widerrufen\s+am \d+\. \w+ \d{4}", second), second  # with its date
    # Over, in the past tense: never "darf" beside "Widerrufen".
    assert re.search(r"Bis zum \d+\. \w+ \d{4} durfte Jobcenter Köln an Jugendamt Köln", second)
    assert " darf " not in second
    assert " darf " in first
    assert "welche Leistungen Sie bekommen" in third
    assert "Gültig" in third
    assert serious_violations(page) == []
    base = f"/portal/consents/{consent}/permissions"
    assert page.locator(f'a[href="{base}/2/withdraw"]').count() == 0
    assert offices.send_invitation().status_code == 403  # 2 is withdrawn
    assert offices.ask_for_benefits().status_code != 403  # 3 holds (no provider: 502/504)

    page.click(f'a[href="{base}/3/withdraw"]')
    assert page.locator("h1").inner_text() == "Freigabe 3 widerrufen?"
    assert "welche Leistungen Sie bekommen" in page.locator("main").inner_text()
    page.click("main button.danger")
    page.wait_for_load_state()
    assert "Gültig" in _permission(page, 1)
    assert "Widerrufen" in _permission(page, 2)
    assert "Widerrufen" in _permission(page, 3)
    benefits = offices.ask_for_benefits()
    assert benefits.status_code == 403
    assert benefits.json()["reason"] == "consent_withdrawn"  # exactly 3 went
    assert offices.ask_for_residence().status_code != 403  # 1 holds
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


def test_wrong_codes_are_refused_warned_about_and_then_locked_out(site, page, offices):
    offices.record()
    limit = site.runtime.settings.login_max_failures
    for attempt in range(limit - 1):
        assert sign_in(page, site, "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ") == 400
        alert = page.locator("[role=alert]").inner_text()
        assert "Dieser Code hat nicht funktioniert." in alert
        assert ("noch einem falschen Versuch" in alert) == (attempt == limit - 2)
        # What was typed stays, to correct one character rather than type 23 again.
        assert page.locator("#code").input_value() == "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"
    assert page.locator("#code").get_attribute("aria-invalid") == "true"
    accessible_and_shot(page, "sign-in-last-try", "de")
    assert sign_in(page, site, "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ") == 429
    alert = page.locator("[role=alert]").inner_text()
    assert "Zu viele Versuche." in alert
    assert re.search(r"ab \d\d:\d\d \(Mitteleuropäische Zeit\) wieder", alert), alert
    accessible_and_shot(page, "sign-in-paused", "de")
    assert sign_in(page, site, "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ") == 429
    assert serious_violations(page) == []
    assert "gw_portal" not in {cookie["name"] for cookie in page.context.cookies()}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", ["de", "ar"])
def test_every_portal_page_is_accessible_left_to_right_and_right_to_left(
    site, page, offices, lang, width
):
    page.set_viewport_size({"width": width, "height": 844})
    # An earlier consent, withdrawn whole at the office: folded away under the active one.
    ended = offices.record()["consent_id"]
    withdrawn = offices.post(f"/v1/consents/{ended}/withdraw", {"channel": "written"}, JC)
    assert withdrawn.status_code == 200, withdrawn.text
    recorded = offices.record()  # its code is the person's one live code
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
        if name != "error":
            assert_sign_out_sits_on_the_menu_row(page)
    # Each history entry is headed by what happened (no two alike here), its time below.
    page.goto(f"{site.url}{pages['history']}")
    headings = page.locator("main section.event h2").all_inner_texts()
    assert len(headings) >= 3
    assert len(set(headings)) == len(headings), headings
    assert page.locator("main section.event p.when").count() == len(headings)
    # The receipt's print button comes from /static/print.js (the page's own hint goes).
    page.goto(f"{site.url}{pages['receipt']}")
    assert page.locator("#print-button").is_visible()
    assert not page.locator("#print-hint").is_visible()
    # Printed, the receipt is only the receipt: no menus, no forms, no signature; one A4 page.
    page.emulate_media(media="print")
    assert not page.locator("header nav").first.is_visible()
    assert not page.locator("form").first.is_visible()
    assert not page.locator("details.verification").is_visible()
    assert page.locator("main table").first.is_visible()
    shoot(page, f"portal-receipt-print-{lang}-{width}")
    pdf = page.pdf(format="A4", print_background=True)
    keep(f"portal-receipt-{lang}-{width}.pdf", pdf)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    page.emulate_media(media="screen")
    # Opened, the versions and the verification data still fit the screen.
    page.click("main details.versions summary")
    page.click("main details.verification summary")
    accessible_and_shot(page, "receipt-opened", lang)
    page.goto(f"{site.url}{pages['confirm-permission']}")
    page.click("main button.danger")
    page.wait_for_load_state()
    accessible_and_shot(page, "consents-after-withdrawal", lang)
    page.click("main details.ended-consents summary")
    accessible_and_shot(page, "consents-with-ended", lang)
    page.click("header button[type=submit]")  # sign out
    page.wait_for_load_state()
    assert page.url.endswith("/portal/?notice=signed-out")
    accessible_and_shot(page, "signed-out", lang)
    page.goto(f"{site.url}/portal/consents")  # back to a page of the ended session
    assert page.url.endswith("/portal/?notice=session-ended")
    accessible_and_shot(page, "session-ended", lang)
