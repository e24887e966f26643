"""The portal's help page in a real browser, at phone width and on a desktop, German and
Arabic: the offices' contacts readable, phone numbers left to right inside right-to-left text,
e-mail addresses broken only after their @ and dots, nothing wider than the screen, no serious
accessibility problem; reached from the sign-in page without signing in, too. Screenshots go to
$GATEWAY_TEST_SHOTS when set (`make shots`)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from gateway.agencies import service as registry
from gateway.demo.agencies import DEMO_AGENCIES
from tests.browser.conftest import serious_violations, shoot
from tests.browser.test_portal import Offices, sign_in
from tests.support import LiveServer


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("lang", ["de", "ar"])
def test_the_help_page_shows_the_offices_contacts_in_both_directions(
    site: LiveServer, page: Page, lang: str, width: int
):
    offices = Offices(site)
    with site.runtime.database.transaction() as session:
        for agency in DEMO_AGENCIES:  # the demo's made-up contacts, for the same four offices
            registry.update_agency(session, site.runtime.audit, agency.id, contact=agency.contact)
    recorded = offices.record()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{site.url}/portal/?lang={lang}")
    assert sign_in(page, site, recorded["portal_code"]) == 303

    page.click("footer a[href='/portal/help']")

    assert page.locator("main section.card").count() == 4
    phone = page.locator("main a[href^='tel:']").first
    assert phone.get_attribute("dir") == "ltr"
    assert phone.inner_text() == "+49 221 0000-200"  # the job centre, which gave the code
    assert serious_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate(_ADDRESSES_UNBROKEN)
    shoot(page, f"portal-help-{lang}-{width}")


# Every piece of an e-mail or web address between its <wbr>s (after @, dots and slashes)
# stays on one line.
_ADDRESSES_UNBROKEN = """() => {
  const links = [...document.querySelectorAll("main a.breakable")];
  return links.length > 0 && links.every(link => [...link.childNodes]
    .filter(node => node.nodeType === Node.TEXT_NODE)
    .every(node => {
      const range = document.createRange();
      range.selectNodeContents(node);
      return range.getClientRects().length <= 1;
    }));
}"""


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("lang", ["de", "ar"])
def test_a_person_who_cannot_sign_in_finds_every_office_from_the_sign_in_page(
    site: LiveServer, page: Page, lang: str, width: int
):
    Offices(site)  # the four offices, registered
    with site.runtime.database.transaction() as session:
        for agency in DEMO_AGENCIES:
            registry.update_agency(session, site.runtime.audit, agency.id, contact=agency.contact)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{site.url}/portal/?lang={lang}")

    page.click("main a[href='/portal/help']")

    assert page.url.endswith("/portal/help")
    assert page.locator("main section.card").count() == 4
    assert page.locator("header nav.portal a[href='/portal/']").count() == 1  # sign in
    assert page.locator("header button").count() == 0  # nothing to sign out of
    assert serious_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate(_ADDRESSES_UNBROKEN)
    shoot(page, f"portal-help-signed-out-{lang}-{width}")
