"""The DPO's overview, indicators, integrity and records pages (and notices, person, sign-in) in a
real browser, in German and Arabic, on a phone (390 px) and a desk screen (1280 px): free of
serious accessibility problems, and the pages that used to scroll sideways on a phone fit its
width. The checkpoint and key the integrity page offers for download are the very files
``gateway audit verify`` takes. Screenshots go to $GATEWAY_TEST_SHOTS when set (`make shots`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from gateway.audit.notes import Verifier
from gateway.audit.verify import verify_stored
from gateway.monitoring.aggregation import aggregate_due
from tests.browser.conftest import serious_violations
from tests.browser.conftest import shoot as screenshot
from tests.dpo.seeded import PASSWORD, USER, Seeded, add_user, name_agencies, seed
from tests.support import LiveServer

PHONE, DESK = 390, 1280
# The pages that must fit a phone's width without scrolling sideways.
FITTING = ("overview", "indicators", "integrity", "records", "emergency")
PAGES = (*FITTING, "notices", "person")


@pytest.fixture
def seeded_site(site: LiveServer) -> Seeded:
    add_user(site.runtime)
    seeded = seed(site.runtime, site.clients)
    name_agencies(site.runtime)  # the names a city registers, as the pages show them
    runtime = site.runtime
    # The seeded log's months that are over, computed (threshold 2), so the indicators show some.
    aggregate_due(runtime.database, runtime.audit, runtime.policies, 2, limit=12)
    return seeded


def open_page(browser: Browser, width: int) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="de-DE")
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Page, site: LiveServer, language: str) -> None:
    page.goto(f"{site.url}/dpo/?lang={language}")
    page.fill("#user", USER)
    page.fill("#password", PASSWORD)
    page.click("form[action='/dpo/sign-in'] button[type=submit]")
    page.wait_for_url(f"{site.url}/dpo/overview")


def shoot(page: Page, name: str, language: str, width: int) -> None:
    screenshot(page, f"dpo-{name}-{language}-{width}")


def sideways(page: Page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@pytest.mark.parametrize("width", [PHONE, DESK])
@pytest.mark.parametrize("language", ["de", "ar"])
def test_the_pages_read_well_on_a_phone_and_a_desk_screen(
    site: LiveServer, seeded_site: Seeded, browser: Browser, language: str, width: int
):
    for page in open_page(browser, width):
        page.goto(f"{site.url}/dpo/?lang={language}")
        shoot(page, "sign-in", language, width)
        found = {"sign-in": serious_violations(page)}
        too_wide = {}
        sign_in(page, site, language)
        for name in PAGES:
            page.goto(f"{site.url}/dpo/{name}")
            assert page.locator("html").get_attribute("lang") == language
            found[name] = serious_violations(page)
            if name in FITTING:
                too_wide[name] = sideways(page)
            shoot(page, name, language, width)
        assert {name: violations for name, violations in found.items() if violations} == {}
        assert {name: pixels for name, pixels in too_wide.items() if pixels > 0} == {}


def test_the_checkpoint_and_key_a_dpo_downloads_are_what_the_verifier_takes(
    site: LiveServer, seeded_site: Seeded, browser: Browser
):
    runtime = site.runtime
    for page in open_page(browser, PHONE):
        sign_in(page, site, "de")
        page.goto(f"{site.url}/dpo/integrity")
        files = {}
        for link in ("checkpoint", "key"):
            with page.expect_download() as waiting:
                page.click(f"a[href='/dpo/integrity/{link}']")
            download = waiting.value
            files[link] = (download.suggested_filename, Path(download.path()).read_bytes())
    latest = runtime.audit.publish(runtime.database)  # the downloads' own entries, placed
    name, checkpoint = files["checkpoint"]
    assert name.startswith("audit-checkpoint-")
    assert files["key"][0] == "audit-log-key.txt"
    # The very bytes, read as `gateway audit verify --public-key FILE --checkpoint FILE` reads
    # them (Path.read_text), check the log; and a wrong key is refused.
    verifier = Verifier.from_vkey(files["key"][1].decode())
    assert verifier.vkey() == runtime.audit.verifier.vkey()
    with runtime.database.transaction(read_only=True) as session:
        report = verify_stored(session, verifier, kept=checkpoint.decode())
    assert report.intact, report.problems
    assert report.size == latest.size
    assert report.checkpoints_checked >= 2  # the stored ones and the one kept


@pytest.mark.parametrize("language", ["de", "ar"])
def test_on_a_desk_screen_the_page_links_fit_one_row_with_sign_out_at_its_end(
    site: LiveServer, seeded_site: Seeded, browser: Browser, language: str
):
    for page in open_page(browser, DESK):
        sign_in(page, site, language)
        links = page.locator("nav.dpo-pages a").all()
        tops = {round(link.bounding_box()["y"]) for link in links}  # type: ignore[index]
        assert len(links) == 9
        assert max(tops) - min(tops) <= 4, tops  # one row
        nav = page.locator("nav.dpo-pages").bounding_box()
        button = page.locator("form[action='/dpo/sign-out'] button").bounding_box()
        assert nav is not None
        assert button is not None
        assert button["y"] < nav["y"] + nav["height"]  # beside the links, not a row below
        # At the links' end: after them in the reading direction.
        last = links[-1].bounding_box()
        assert last is not None
        if language == "ar":
            assert button["x"] + button["width"] <= last["x"]
        else:
            assert button["x"] >= last["x"] + last["width"]
