"""The portal's help page in a real browser, at phone width and on a desktop, German and
Arabic: the offices' contacts readable, phone numbers left to right inside right-to-left text,
nothing wider than the screen, no serious accessibility problem. Screenshots go to
$GATEWAY_TEST_SHOTS (default /tmp/shots)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from gateway.agencies import service as registry
from gateway.demo.agencies import DEMO_AGENCIES
from tests.browser.conftest import serious_violations
from tests.browser.test_portal import SHOTS, Offices, sign_in
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
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"portal-help-{lang}-{width}.png"), full_page=True)
