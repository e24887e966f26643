"""A DPO reviews an emergency access in a real browser, in English and Arabic: the youth welfare
office's emergency query (over a live gateway, the foreigners' office's system behind it) shows
on the emergency page at once; the DPO opens it, reads the justification (on record first) and
reviews it. axe finds no serious problem on any of the pages; screenshots go to the test's
folder (and to $GATEWAY_TEST_SHOTS when set)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from gateway.audit.events import EventType
from gateway.audit.service import decode
from gateway.audit.tables import AuditEntry
from tests.browser.conftest import serious_violations, shoot
from tests.dpo.seeded import PASSWORD, USER, add_user
from tests.emergency.world import JUSTIFICATION, Emergency
from tests.exchange.conftest import provider_timeout, world
from tests.exchange.world import World

__all__ = ["provider_timeout", "world"]

COMMENT = "Specific reports of the neighbours; the parents were not reachable for days."


@pytest.fixture
def gateway_settings() -> dict[str, Any]:
    return {"cookie_secure": False}  # the browser reaches the live gateway over plain http


@pytest.fixture
def window(world: World) -> str:
    """A DPO user, and one real emergency query; its window's id."""
    add_user(world.gateway.runtime)
    emergency = Emergency(world)
    emergency.grant()
    emergency.known_from_a_consent()
    response = emergency.ask()
    assert response.status_code == 200, response.text
    return str(response.json()["emergency_window"]["id"])


def _events(world: World, event: EventType) -> list[dict[str, Any]]:
    with world.gateway.runtime.database.transaction(read_only=True) as session:
        bodies = session.query(AuditEntry.body).filter(AuditEntry.event == event.value)
        return [decode(body) for (body,) in bodies if body]


def _sign_in(page: Page, url: str, language: str) -> None:
    page.goto(f"{url}/dpo/?lang={language}")
    page.fill("#user", USER)
    page.fill("#password", PASSWORD)
    page.click("form[action='/dpo/sign-in'] button[type=submit]")
    page.wait_for_url(f"{url}/dpo/overview")


def _keep(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    shoot(page, name)
    return path


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_dpo_reads_a_justification_and_reviews_the_emergency_access(
    world: World, window: str, browser: Browser, language: str, tmp_path: Path
):
    url = world.gateway.url
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    try:
        _sign_in(page, url, language)
        found: dict[str, Any] = {"overview": serious_violations(page)}
        page.click("nav.dpo-pages a[href='/dpo/emergency']")
        page.wait_for_url(f"{url}/dpo/emergency")
        assert page.locator("html").get_attribute("lang") == language
        found["list"] = serious_violations(page)
        _keep(page, tmp_path, f"dpo-emergency-list-{language}")
        assert JUSTIFICATION["case_number"] not in page.content()

        page.click(f"a[href='/dpo/emergency/{window}']")
        page.wait_for_url(f"{url}/dpo/emergency/{window}")
        found["window"] = serious_violations(page)
        assert JUSTIFICATION["text"] not in page.content()

        page.click(f"form[action='/dpo/emergency/{window}/justification'] button")
        page.wait_for_selector("#justification")
        assert JUSTIFICATION["case_number"] in page.inner_text("#justification")
        assert JUSTIFICATION["text"] in page.inner_text("#justification")
        (read,) = _events(world, EventType.EMERGENCY_JUSTIFICATION_READ)
        assert read["actor"] == USER
        found["justification"] = serious_violations(page)
        _keep(page, tmp_path, f"dpo-emergency-justification-{language}")

        page.check("input[name=verdict][value=justified]")
        page.fill("#comment", COMMENT)
        page.click(f"form[action='/dpo/emergency/{window}/review'] button[type=submit]")
        page.wait_for_url(f"{url}/dpo/emergency/{window}?done=reviewed")
        assert COMMENT in page.inner_text("#review ~ dl")
        (reviewed,) = _events(world, EventType.EMERGENCY_REVIEWED)
        assert reviewed["details"]["verdict"] == "justified"
        found["reviewed"] = serious_violations(page)
        _keep(page, tmp_path, f"dpo-emergency-reviewed-{language}")
        page.set_viewport_size({"width": 390, "height": 844})  # a phone: one card per window
        page.goto(f"{url}/dpo/emergency")
        found["list on a phone"] = serious_violations(page)
        _keep(page, tmp_path, f"dpo-emergency-list-phone-{language}")
        assert {name: problems for name, problems in found.items() if problems} == {}
    finally:
        context.close()
