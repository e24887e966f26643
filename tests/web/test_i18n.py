"""Languages: the choice (asked, remembered, browser, German), the catalogues, the direction."""

from __future__ import annotations

import pytest

from gateway.web import i18n
from gateway.web.i18n import LANGUAGES
from gateway.web.pages import environment


@pytest.mark.parametrize(
    ("asked", "remembered", "accept", "chosen"),
    [
        ("ar", "tr", "uk", "ar"),
        (None, "tr", "uk", "tr"),
        ("xx", "tr", None, "tr"),
        (None, None, "fr-FR, uk;q=0.8, en;q=0.5", "uk"),
        (None, None, "en;q=0.1, fa;q=0.9", "fa"),
        (None, None, "uk;q=0, en", "en"),
        (None, None, "fr, es", "de"),
        (None, None, None, "de"),
        (None, None, "q=;;,,", "de"),
    ],
)
def test_the_language_asked_for_wins_then_the_remembered_then_the_browsers(
    asked, remembered, accept, chosen
):
    assert i18n.choose(asked, remembered, accept).code == chosen


def test_arabic_and_farsi_read_right_to_left_and_the_others_left_to_right():
    assert {code for code, language in LANGUAGES.items() if language.rtl} == {"ar", "fa"}
    assert LANGUAGES["fa"].direction == "rtl"
    assert LANGUAGES["uk"].direction == "ltr"


@pytest.mark.parametrize("code", ["de", "ar", "uk", "tr", "fa"])
def test_each_language_translates_the_shared_texts(code):
    with i18n.speaking(LANGUAGES[code]):
        assert i18n.gettext("Skip to content") != "Skip to content"
    # Outside the block, nothing is translated.
    assert i18n.gettext("Skip to content") == "Skip to content"


def test_english_is_the_text_itself():
    with i18n.speaking(LANGUAGES["en"]):
        assert i18n.gettext("Skip to content") == "Skip to content"


@pytest.mark.parametrize(
    ("code", "written"),
    [
        ("de", "1.234.567"),
        ("en", "1,234,567"),
        ("tr", "1.234.567"),
        ("uk", "1\xa0234\xa0567"),
        ("ar", "1,234,567"),  # Latin digits, as the pages' other figures
    ],
)
def test_pages_write_numbers_as_their_language_does(code: str, written: str):
    page = environment.from_string("{{ n|number }}|{{ share|number }}")
    rendered = page.render(lang=LANGUAGES[code], n=1234567, share=0.5)
    decimal = "," if code in ("de", "tr", "uk") else "."
    assert rendered == f"{written}|0{decimal}5"


def test_switching_language_keeps_the_page_and_its_query(http):
    """A DPO's filters, a report's query and a portal confirmation stay on a language switch;
    only the language changes."""
    page = http.get("/portal/?notice=signed-out&lang=de").text
    assert 'href="/portal/?notice=signed-out&amp;lang=ar"' in page
    assert "lang=de&amp;lang" not in page
