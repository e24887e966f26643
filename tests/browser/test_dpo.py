"""The DPO pages in a real browser: a DPO signs in, filters the audit log, opens an entry,
verifies the log and downloads an export; every page is free of serious accessibility
problems, left to right and right to left. Screenshots of each page (German and Arabic) go to
$GATEWAY_TEST_SHOTS when set (`make shots`) for a person to look at."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from gateway.monitoring.aggregation import aggregate_due
from tests.audit.dpo_api.seeded import ABH, JOBCENTER, REFERENCES
from tests.browser.conftest import serious_violations
from tests.browser.conftest import shoot as screenshot
from tests.dpo.seeded import PASSWORD, USER, Seeded, add_user, name_agencies, seed
from tests.support import LiveServer


@pytest.fixture
def seeded_site(site: LiveServer) -> Seeded:
    add_user(site.runtime)
    return seed(site.runtime, site.clients)


def sign_in(page: Page, site: LiveServer) -> None:
    page.goto(f"{site.url}/dpo/")
    page.fill("#user", USER)
    page.fill("#password", PASSWORD)
    page.click("form[action='/dpo/sign-in'] button[type=submit]")
    page.wait_for_url(f"{site.url}/dpo/overview")


def shoot(page: Page, name: str, language: str) -> None:
    screenshot(page, f"dpo-{name}-{language}")


def test_a_dpo_signs_in_filters_the_log_verifies_it_and_downloads_an_export(
    site: LiveServer, seeded_site: Seeded, page: Page
):
    sign_in(page, site)
    assert page.locator("h1").inner_text() == "Übersicht"

    page.click("nav.dpo-pages a[href='/dpo/audit']")
    page.click("summary")  # the filters are folded away until used
    page.select_option("#decision", "deny")
    page.select_option("#agency", ABH)
    page.click("form[action='/dpo/audit'] button[type=submit]")
    assert "decision=deny" in page.url
    rows = page.locator("main table tbody tr")
    # Denials naming the Ausländerbehörde: b2, c2 and the old one (40 days ago).
    assert rows.count() == 3
    assert all("abgelehnt" in text for text in rows.all_inner_texts())

    rows.first.locator("a").click()
    assert page.locator("h1").inner_text().startswith("Eintrag")
    assert "abgelehnt" in page.locator("main table.facts").inner_text()

    page.goto(f"{site.url}/dpo/integrity")
    page.click("form[action='/dpo/integrity/verify'] button")
    status = page.locator("#verification ~ [role=status]")
    assert "unversehrt" in status.inner_text()

    page.goto(f"{site.url}/dpo/audit?decision=deny")
    with page.expect_download() as waiting:
        page.click("a[href*='format=csv']")
    download = waiting.value
    assert download.suggested_filename == "audit.csv"
    rows_read = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert len(rows_read) == 5
    assert {row["decision"] for row in rows_read} == {"deny"}


def _visit_every_page(page: Page, site: LiveServer, language: str) -> list[tuple[str, list]]:
    """Each DPO page in turn, checked with axe and photographed; returns the findings."""
    found = []

    def check(name: str) -> None:
        assert page.locator("html").get_attribute("lang") == language
        found.append((name, serious_violations(page)))
        shoot(page, name, language)

    page.goto(f"{site.url}/dpo/?lang={language}")
    check("sign-in")
    page.fill("#user", USER)
    page.fill("#password", "wrong password, long enough")
    page.click("form[action='/dpo/sign-in'] button[type=submit]")
    check("sign-in-failed")
    sign_in(page, site)
    check("overview")
    page.goto(f"{site.url}/dpo/audit")
    check("audit")
    page.locator("main table tbody tr a").first.click()
    check("entry")
    page.goto(f"{site.url}/dpo/integrity")
    page.click("form[action='/dpo/integrity/verify'] button")
    check("integrity")
    page.goto(f"{site.url}/dpo/report")
    check("report")
    page.select_option("#agency", JOBCENTER)
    page.fill("#reference", REFERENCES["amina"][JOBCENTER])
    page.click("form[action='/dpo/report'] button[type=submit]")
    check("report-result")
    page.goto(f"{site.url}/dpo/notices")
    check("notices")
    page.goto(f"{site.url}/dpo/records")
    check("records")
    # The seeded log's months computed (threshold 2), so that the page shows figures.
    runtime = site.runtime
    aggregate_due(runtime.database, runtime.audit, runtime.policies, 2, limit=12)
    page.goto(f"{site.url}/dpo/indicators")
    check("indicators")
    return found


@pytest.mark.parametrize("language", ["de", "ar"])
def test_every_dpo_page_is_accessible_left_to_right_and_right_to_left(
    site: LiveServer, seeded_site: Seeded, page: Page, language: str
):
    found = _visit_every_page(page, site, language)
    assert [name for name, _ in found] == [
        "sign-in", "sign-in-failed", "overview", "audit", "entry", "integrity", "report",
        "report-result", "notices", "records", "indicators",
    ]  # fmt: skip
    assert {name: violations for name, violations in found if violations} == {}
    expected = "rtl" if language == "ar" else "ltr"
    assert page.locator("html").get_attribute("dir") == expected


def test_the_overview_on_a_desk_screen(site: LiveServer, seeded_site: Seeded, browser: Browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    try:
        sign_in(page, site)
        assert serious_violations(page) == []
        # The charts fill the width and keep their text size: wide bars, not a scaled image.
        chart = page.locator("svg[aria-labelledby^='chart-days']")
        assert chart.bounding_box()["width"] > 700
        shoot(page, "overview-desktop", "de")
        page.goto(f"{site.url}/dpo/overview?lang=ar")
        assert serious_violations(page) == []
        shoot(page, "overview-desktop", "ar")
    finally:
        context.close()


def _times(page: Page) -> list[str]:
    return page.locator("main table.entries tbody tr td:nth-child(2) time").evaluate_all(
        "cells => cells.map(cell => cell.getAttribute('datetime'))"
    )


def test_a_dpo_reads_the_log_newest_first_and_keeps_the_search_across_languages(
    site: LiveServer, seeded_site: Seeded, browser: Browser
):
    name_agencies(site.runtime)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    try:
        sign_in(page, site)
        page.click("nav.dpo-pages a[href='/dpo/audit']")
        newest_first = _times(page)
        assert len(newest_first) == 15
        assert newest_first == sorted(newest_first, reverse=True)
        # At a desk screen's width every usual column is in view, none cut off.
        for heading in ("Empfangende Behörde", "Kategorien", "Zweck"):
            box = page.locator("main table.entries th", has_text=heading).bounding_box()
            assert box is not None, heading
            assert box["x"] + box["width"] <= 1280, heading
        assert "Jobcenter Köln" in page.locator("main table.entries").inner_text()

        # The usual columns, the time first: newest first is by the time recorded, and says so.
        headings = page.locator("main table.entries thead th").all_inner_texts()
        assert headings == ["Position", "Zeit", "Entscheidung", "Ereignis", "Empfangende Behörde",
                            "Liefernde Behörde", "Kategorien", "Zweck"]  # fmt: skip
        current = page.locator("nav.orders a[aria-current]").inner_text()
        assert current == "Neueste zuerst (nach Aufzeichnungszeit)"
        # The filters are folded: the first entries are in view without scrolling.
        assert page.locator("details.filters").get_attribute("open") is None
        first_row = page.locator("main table.entries tbody tr").first.bounding_box()
        assert first_row is not None
        assert first_row["y"] + first_row["height"] < 900

        page.click("nav.orders a:text-is('Älteste zuerst (nach Aufzeichnungszeit)')")
        assert "direction=asc" in page.url
        assert _times(page) == sorted(newest_first)

        page.click("summary:text-is('Filter')")
        page.select_option("#decision", "deny")
        page.click("form[action='/dpo/audit'] button:text-is('Suchen')")
        assert "decision=deny" in page.url
        assert "direction=asc" in page.url
        denials = _times(page)
        assert len(denials) == 5
        assert denials == sorted(denials)

        page.click("nav.languages a[hreflang='ar']")
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert "decision=deny" in page.url
        assert "direction=asc" in page.url
        assert _times(page) == denials
        assert page.locator("#decision").input_value() == "deny"
        # Folded still, the filters in force are said in a line above the entries.
        assert "مرفوض" in page.locator("#in-force").inner_text()
        assert serious_violations(page) == []

        # Hidden columns come on request, and the search stays.
        page.click("nav.languages a[hreflang='de']")
        page.click("summary:text-is('Spalten')")
        page.check("input[name=column][value=legal_basis]")
        page.check("input[name=column][value=actor]")
        page.click("form[action='/dpo/audit'] button:text-is('Diese Spalten zeigen')")
        headings = page.locator("main table.entries thead th").all_inner_texts()
        assert "Rechtsgrundlage" in headings
        assert "Handelnder Client oder Benutzer" in headings
        assert "decision=deny" in page.url
        assert _times(page) == denials
        assert serious_violations(page) == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("language", ["de", "ar"])
def test_the_audit_pages_at_both_widths(
    site: LiveServer, seeded_site: Seeded, browser: Browser, language: str, width: int
):
    """The audit log, an entry and an access report with its downloads, checked with axe and
    photographed (dpo-<page>-<width>-<language>.png)."""
    name_agencies(site.runtime)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="de-DE")
    page = context.new_page()
    try:
        sign_in(page, site)
        # The log as it first shows: the usual columns, the time first; on a phone a line says
        # the table scrolls sideways.
        page.goto(f"{site.url}/dpo/audit?lang={language}")
        headings = page.locator("main table.entries thead th")
        assert headings.count() == 8
        hint = page.locator("main p.scroll-hint")
        assert hint.is_visible() == (width == 390)
        found = {"audit": serious_violations(page)}
        shoot(page, f"audit-{width}", language)
        page.locator("main table.entries tbody tr a").first.click()
        found["entry"] = serious_violations(page)
        # The recorded entry wraps in its box: nothing cut off at the edge.
        recorded = page.locator("main pre.wrap")
        assert recorded.evaluate("box => box.scrollWidth <= box.clientWidth")
        shoot(page, f"entry-{width}", language)
        # Other columns on request; the filters and the column choice open, checked too.
        page.goto(f"{site.url}/dpo/audit?column=legal_basis&column=actor")
        for folded in page.locator("main details summary").all():
            folded.click()
        found["audit-columns"] = serious_violations(page)
        shoot(page, f"audit-columns-{width}", language)
        page.goto(f"{site.url}/dpo/report")
        page.select_option("#agency", JOBCENTER)
        page.fill("#reference", REFERENCES["amina"][JOBCENTER])
        page.click("form[action='/dpo/report'] button[type=submit]")
        found["report"] = serious_violations(page)
        shoot(page, f"report-{width}", language)
        if width == 1280:  # every column of the report in view, none cut off
            box = page.locator("main .table-scroll")
            assert box.evaluate("box => box.scrollWidth - box.clientWidth") <= 0
        # The language switch posts the question again: the same report, in the other language.
        other = "de" if language == "ar" else "ar"
        rows = page.locator("main table tbody tr").count()
        page.click(f"nav.languages form[action='/dpo/report?lang={other}'] button")
        assert page.locator("html").get_attribute("lang") == other
        assert page.locator("main table tbody tr").count() == rows + 1  # the look itself
        assert page.locator("#reference").input_value() == REFERENCES["amina"][JOBCENTER]
        with page.expect_download() as waiting:
            page.click("form[action='/dpo/report/download']:has(input[value=spreadsheet]) button")
        assert waiting.value.suggested_filename == "access.csv"
        assert {name: violations for name, violations in found.items() if violations} == {}
    finally:
        context.close()
