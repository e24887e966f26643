"""The portal's help page: how the person reaches each office of their consents (the one that
gave them their code first), with opening hours, interpreter service and the office's
data-protection contact, as the operator registered them; linked from every page's footer."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from gateway.agencies import service as registry
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.portal.conftest import ABH, AMIRA, JA, JC, OLEKSII, RESIDENCE, SA

_OFFICES = re.compile(r'<section class="card" id="office-([a-z0-9-]+)"')
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


def test_the_help_page_needs_a_signed_in_person(portal):
    response = portal.get("/portal/help")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/portal/")


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
