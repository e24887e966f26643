"""The portal's help page: how the person reaches each office of their consents (the one that
gave them their code first), with opening hours, interpreter service and the office's
data-protection contact, as the operator registered them; linked from every page's footer.
Open without signing in too (whoever cannot sign in needs it most): then it lists every
enabled office of the registry."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from gateway.agencies import service as registry
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.portal.conftest import ABH, AMIRA, JA, JC, OLEKSII, RESIDENCE, SA, sign_in

_OFFICES = re.compile(r'<section class="card office" id="office-([a-z0-9-]+)"')
CONFERENCES = {"from": JC, "to": JA, "categories": ["case_conference"],
               "purposes": ["case_management"]}  # fmt: skip


def register_contact(runtime: Runtime, agency_id: str, **contact: str) -> None:
    with runtime.database.transaction() as session:
        registry.update_agency(session, runtime.audit, agency_id, contact=contact)


def test_the_help_page_lists_the_persons_offices_with_their_contacts(runtime, signed_in, offices):
    register_contact(
        runtime, JC, address="Luxemburger Straße 121\n50939 Köln", phone="+49 221 9429-0",
        hours="Mo-Fr 8-12 <b>Uhr</b>", interpreter="Arabisch, Dari: bei der Terminvereinbarung",
        privacy_contact="Datenschutzbeauftragte des Jobcenters", privacy_email="ds@jc.example",
    )  # fmt: skip
    offices.record(OLEKSII, CONFERENCES)  # another person's consent names the youth office
    client = signed_in(offices.record(AMIRA))

    page = client.get("/portal/help").text

    # The code's issuer first, then the other offices of her consents; no one else's.
    assert _OFFICES.findall(page) == [JC, ABH, SA]
    assert JA not in page
    assert 'href="tel:+4922194290"' in page
    assert "Luxemburger Straße 121\n50939 Köln" in page  # kept apart in lines by the style
    assert 'href="mailto:ds@jc.example"' in page
    assert "Interpreter" in page
    assert "Arabisch, Dari" in page
    assert "&lt;b&gt;Uhr&lt;/b&gt;" in page  # written as text, never markup
    # An office without contact details says where else to find them.
    assert page.count("has not given its contact details here yet") == 2


def test_every_portal_page_links_to_help_and_the_help_page_is_translated(signed_in, offices):
    client = signed_in(offices.record(AMIRA, RESIDENCE))
    for path in ("/portal/consents", "/portal/history"):
        assert 'href="/portal/help"' in client.get(path).text
    arabic = client.get("/portal/help?lang=ar").text
    assert "<h1>المساعدة والتواصل</h1>" in arabic
    assert 'aria-current="page">المساعدة والتواصل' in arabic


def test_signed_out_the_help_page_lists_every_enabled_office(runtime, portal, offices):
    register_contact(runtime, SA, phone="+49 221 221-0", email="sozialamt@stadt.example")
    with runtime.database.transaction() as session:
        registry.disable(session, runtime.audit, JA)
    offices.record(AMIRA)  # somebody's consent: nothing of it shows to a visitor

    response = portal.get("/portal/help")  # no session cookie at all

    assert response.status_code == 200
    page = response.text
    assert _OFFICES.findall(page) == [ABH, JC, SA]  # by name; the disabled office left out
    assert "Jugendamt" not in page
    assert 'href="tel:+492212210"' in page
    assert "the offices that work with this portal" in page
    # A visitor is offered signing in, not a signed-in person's pages or signing out.
    assert 'href="/portal/consents"' not in page
    assert 'action="/portal/sign-out"' not in page
    assert 'aria-current="page">Help and contact</a>' in page
    assert "You signed in with the code" not in page


def test_the_help_page_keeps_a_visitor_signed_out_and_a_person_signed_in(portal, offices):
    portal.cookies.set("gw_portal", "no-such-session")  # a stale cookie is just a visitor
    assert _OFFICES.findall(portal.get("/portal/help").text) == [ABH, JC, JA, SA]
    portal.cookies.clear()
    client = sign_in_and_back(portal, offices)
    page = client.get("/portal/help").text
    assert _OFFICES.findall(page) == [JC, ABH, SA]  # her own, as before
    assert 'action="/portal/sign-out"' in page


def sign_in_and_back(portal, offices):
    response = sign_in(portal, offices.record(AMIRA).portal_code)
    assert response.status_code == 303
    return portal


def test_the_sign_in_page_links_to_help_and_its_footer_does_not_stutter(portal):
    page = portal.get("/portal/").text
    main, footer = page.split("<main", 1)[1].split("<footer", 1)
    assert '<a href="/portal/help">How to reach the offices' in main
    assert 'href="/portal/help"' in footer
    assert "Ask the office that recorded" not in footer
    german = portal.get("/portal/?lang=de").text
    assert "Fragen? Fragen" not in german
    assert "Wie Sie die Ämter erreichen" in german


def test_addresses_break_only_after_the_at_sign_dots_and_slashes(runtime, portal, offices):
    register_contact(
        runtime, JC, email="kontakt@jobcenter.koeln.example", website="https://jc.example/amt"
    )
    page = portal.get("/portal/help").text
    assert "kontakt@<wbr>jobcenter.<wbr>koeln.<wbr>example</a>" in page
    assert 'href="mailto:kontakt@jobcenter.koeln.example"' in page
    assert ">https:/<wbr>/<wbr>jc.<wbr>example/<wbr>amt</a>" in page
    assert 'href="https://jc.example/amt"' in page


class TestWithTheOperatorAndTheAuthorityConfigured:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(
            update={
                "portal_operator": "Stadt Köln\nDatenschutz: ds@stadt.example",
                "supervisory_authority": "LDI NRW, Düsseldorf",
            }
        )

    def test_the_help_page_names_who_runs_the_portal_and_where_to_complain(
        self, signed_in, offices
    ):
        page = signed_in(offices.record(AMIRA)).get("/portal/help").text
        assert "Who runs this portal" in page
        assert "Stadt Köln\nDatenschutz: ds@stadt.example" in page
        assert "LDI NRW, Düsseldorf" in page


def test_without_them_the_help_page_leaves_both_out(signed_in, offices):
    page = signed_in(offices.record(AMIRA)).get("/portal/help").text
    assert "Who runs this portal" not in page
    assert "Supervisory authority" not in page


def test_an_operator_text_takes_line_breaks_but_no_control_characters():
    assert Settings(portal_operator="Stadt\\nAmt").portal_operator == "Stadt\nAmt"
    with pytest.raises(ValidationError):
        Settings(supervisory_authority="LDI\x1b[2J")
