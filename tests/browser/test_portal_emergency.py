"""Emergency access in the portal, in a real browser at phone width: after a youth welfare
office asked about a child in an emergency (§ 8a SGB VIII), the person signs in with their
portal code and finds it under "Who asked about me", headed as an emergency and explained, in
English and in Arabic (right to left); the consents page says that withdrawing does not stop
it. Each page is free of serious accessibility problems and scrolls down only.

Screenshots go to the test's tmp_path (for a person to look at with ``--basetemp``), and to
$GATEWAY_TEST_SHOTS when set, as the other browser tests do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import serious_violations, shoot
from tests.emergency.world import JUSTIFICATION, Emergency
from tests.exchange.conftest import world
from tests.exchange.world import World
from tests.support import LiveServer

__all__ = ["world"]


@pytest.fixture
def gateway_settings() -> dict[str, Any]:
    return {"cookie_secure": False}  # the browser reaches the gateway over plain http


@pytest.fixture
def provider_timeout() -> float:
    return 10.0  # the foreigners' office's system always answers here; never time out


def sign_in(page: Page, site: LiveServer, code: str) -> int:
    page.goto(f"{site.url}/portal/")
    page.fill("#code", code)
    with page.expect_response(lambda answer: answer.request.method == "POST") as answer:
        page.click("main button[type=submit]")
    page.wait_for_load_state()
    return answer.value.status


def looked_at(page: Page, folder: Path, name: str, lang: str) -> None:
    assert page.locator("html").get_attribute("lang") == lang
    direction = "rtl" if lang in ("ar", "fa") else "ltr"
    assert page.locator("html").get_attribute("dir") == direction
    assert serious_violations(page) == [], (name, lang)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, (name, lang, overflow)
    page.screenshot(path=str(folder / f"portal-emergency-{name}-{lang}.png"), full_page=True)
    shoot(page, f"portal-emergency-{name}-{lang}-390")


def test_a_person_finds_an_emergency_query_explained_in_english_and_arabic(
    world: World, page: Page, tmp_path: Path
):
    emergency = Emergency(world)
    emergency.grant()
    recorded = emergency.recorded_consent()
    assert emergency.ask().status_code == 200
    refused = emergency.ask(JUSTIFICATION | {"reason": "unlisted_reason"})
    assert refused.status_code == 403, refused.text

    assert sign_in(page, world.gateway, recorded["portal_code"]) == 303
    page.goto(f"{world.gateway.url}/portal/history?lang=en")
    headings = page.locator("main section.card.event h2")
    assert headings.count() == 2
    for heading in headings.all_inner_texts():
        assert heading.endswith("about you in an emergency, to protect a child"), heading
    explanations = page.locator("main section.card.event p.explanation")
    assert explanations.count() == 2
    assert "(§ 8a SGB VIII)" in explanations.first.inner_text()
    looked_at(page, tmp_path, "history", "en")

    page.goto(f"{world.gateway.url}/portal/history?lang=ar")
    assert page.locator("h1").inner_text() == "من سأل عني"
    first = page.locator("main section.card.event h2").first.inner_text()
    assert "في حالة طارئة، لحماية طفل" in first
    looked_at(page, tmp_path, "history", "ar")

    page.goto(f"{world.gateway.url}/portal/consents?lang=ar")
    note = page.locator("#emergency-note")
    assert note.inner_text() == "حالات الطوارئ لحماية طفل"
    looked_at(page, tmp_path, "consents", "ar")
