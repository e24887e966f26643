"""The people's pages' error page, in a real browser: in the visitor's language and direction,
and free of serious accessibility problems."""

from __future__ import annotations

from tests.browser.conftest import serious_violations


def test_an_unknown_page_is_a_page_in_the_visitors_language(site, page):
    response = page.goto(f"{site.url}/portal/no-such-page?lang=ar")
    assert response is not None
    assert response.status == 404
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    assert page.locator("h1").inner_text() == "هذه الصفحة غير موجودة."
    assert serious_violations(page) == []
    # The choice is remembered.
    page.goto(f"{site.url}/portal/still-no-page")
    assert page.locator("html").get_attribute("lang") == "ar"
