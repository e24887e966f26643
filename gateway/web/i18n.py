"""Languages of the pages: German, English, Arabic, Ukrainian, Turkish, Dari/Farsi.

Texts live in gettext catalogues (``locales/<code>/LC_MESSAGES/<feature>.po``: ``web``,
``portal``, ``dpo``; English msgids), read once with Babel and merged per language. Templates
call ``_()``; a page is rendered with its language's catalogue made current for that render
only (a context variable), so concurrent requests in other languages do not interfere.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).parent / "locales"
LANGUAGE_COOKIE = "gw_lang"


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # in the language itself, for the switcher
    rtl: bool = False

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"


LANGUAGES: dict[str, Language] = {
    language.code: language
    for language in (
        Language("de", "Deutsch"),
        Language("en", "English"),
        Language("ar", "العربية", rtl=True),
        Language("uk", "Українська"),
        Language("tr", "Türkçe"),
        Language("fa", "دری / فارسی", rtl=True),
    )
}
DEFAULT = LANGUAGES["de"]


def choose(asked: str | None, remembered: str | None, accept_language: str | None) -> Language:
    """The language asked for now, else the one remembered, else the browser's first known
    preference, else German."""
    for code in (asked, remembered):
        if code in LANGUAGES:
            return LANGUAGES[code]
    for preference in _preferences(accept_language or ""):
        if preference in LANGUAGES:
            return LANGUAGES[preference]
    return DEFAULT


def _preferences(header: str) -> list[str]:
    weighted = []
    for part in header.split(",")[:20]:
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        if parameters.strip().startswith("q="):
            try:
                quality = float(parameters.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((quality, tag.split("-")[0].lower()))
    return [tag for quality, tag in sorted(weighted, key=lambda item: -item[0]) if quality > 0]


@cache
def catalogue(code: str) -> NullTranslations:
    """The language's translations, all features' catalogues merged (English, the msgid
    language, needs none)."""
    merged: NullTranslations = NullTranslations()
    for path in sorted((LOCALES / code / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as file:
            parsed = read_po(file, locale=code)
        compiled = io.BytesIO()
        write_mo(compiled, parsed)
        compiled.seek(0)
        translations = Translations(compiled)
        if isinstance(merged, Translations):
            merged.merge(translations)
        else:
            merged = translations
    return merged


_current: ContextVar[NullTranslations | None] = ContextVar("translations", default=None)
_UNTRANSLATED = NullTranslations()


@contextmanager
def speaking(language: Language) -> Iterator[None]:
    """Make ``language`` the one ``gettext`` answers in, for the duration of the block."""
    token = _current.set(catalogue(language.code))
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return (_current.get() or _UNTRANSLATED).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return (_current.get() or _UNTRANSLATED).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Marks a text for the catalogues where it is defined; it is translated where shown."""
    return message
