"""Headless Chromium (Debian's package, never a downloaded browser) driven by Playwright, against
a live gateway on a free port; axe-core checks accessibility.

Without /usr/bin/chromium these tests are skipped with a reason; CI installs the package."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import LiveServer, start_live_server

CHROMIUM = "/usr/bin/chromium"
SERIOUS = {"serious", "critical"}

if shutil.which(CHROMIUM) is None:  # pragma: no cover - depends on the machine
    pytest.skip(
        "Debian's chromium is not installed (apt-get install -y chromium)",
        allow_module_level=True,
    )

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A live gateway whose cookies work over plain http."""
    with start_live_server(database_url, tmp_path, cookie_secure=False) as server:
        yield server


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="de-DE")
    page = context.new_page()
    yield page
    context.close()


# Screenshots are for people to look at (nothing compares them), so they are taken only when
# asked for: GATEWAY_TEST_SHOTS=/some/folder (`make shots`). CI renders none.
SHOTS = Path(os.environ["GATEWAY_TEST_SHOTS"]) if os.environ.get("GATEWAY_TEST_SHOTS") else None


def shoot(page: Page, name: str) -> None:
    """Keep the whole page as ``<name>.png`` in $GATEWAY_TEST_SHOTS, if set."""
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def keep(name: str, content: bytes) -> None:
    """Keep a file the test made (a printed PDF) in $GATEWAY_TEST_SHOTS, if set."""
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / name).write_bytes(content)


# Every rule of these tags runs on every check. Only the violations are read, so only they are
# gathered in full ("resultTypes"): axe then keeps a single node of each passed, incomplete or
# inapplicable rule instead of describing every element of the page. Options given to
# axe-playwright-python replace its own default, which asks for the same. On the DPO's long
# tables this halves each check, the larger part of the browser tests' time.
AXE_OPTIONS = {
    "runOnly": {"type": "tag",
                "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}  # fmt: skip


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now (WCAG 2.1 A/AA),
    once a page a click or a form led to has loaded (axe run on a page still being replaced
    finds no document)."""
    page.wait_for_load_state("load")
    results = Axe().run(page, options=AXE_OPTIONS)
    return [
        {"id": violation["id"], "impact": violation["impact"], "nodes": len(violation["nodes"])}
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]
