"""The portal's help page: how the person reaches each office of their consents (the one that
gave them their code first), with opening hours, interpreter service and the office's
data-protection contact, as the operator registered them; linked from every page's footer."""

from __future__ import annotations

import re

from gateway.agencies import service as registry
from gateway.runtime import Runtime
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
