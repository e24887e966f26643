"""The portal's texts are complete in every language: each text its templates and modules use
has a translation in German, Arabic, Ukrainian, Turkish and Dari/Farsi (English is the text
itself), with the same placeholders; the portal's catalogues hold nothing else."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from gateway.web.i18n import LOCALES

ROOT = Path(__file__).parents[2]
TRANSLATED = ["de", "ar", "uk", "tr", "fa"]
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@cache
def portal_texts() -> frozenset[str]:
    """Every text the portal's modules and templates mark, extracted as `make messages` does
    (babel.cfg's method map)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for filename, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map
    ):
        if filename.replace("\\", "/").startswith("gateway/portal/"):
            found.add(message if isinstance(message, str) else message[0])
    return frozenset(found)


def _catalogue(code: str, feature: str) -> Catalog:
    with (LOCALES / code / "LC_MESSAGES" / f"{feature}.po").open("rb") as file:
        return read_po(file, locale=code)


def test_the_portal_marks_its_texts():
    texts = portal_texts()
    assert len(texts) > 80
    assert "My consents" in texts  # from a template
    assert "Withdrawn" in texts  # from labels.py (N_)


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_portal_text_is_translated(code):
    portal, shared = _catalogue(code, "portal"), _catalogue(code, "web")
    missing = []
    for text in sorted(portal_texts()):
        message = portal.get(text) or shared.get(text)
        if message is None or not message.string or message.fuzzy:
            missing.append(text)
    assert missing == []


@pytest.mark.parametrize("code", TRANSLATED)
def test_translations_keep_the_placeholders(code):
    for message in _catalogue(code, "portal"):
        if message.id:
            assert set(_PLACEHOLDER.findall(str(message.string))) == set(
                _PLACEHOLDER.findall(str(message.id))
            ), message.id


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_portal_catalogue_holds_only_portal_texts(code):
    """No stale texts, and none of the shared catalogue's (merged later, they would differ)."""
    shared = {message.id for message in _catalogue(code, "web") if message.id}
    for message in _catalogue(code, "portal"):
        if message.id:
            assert message.id in portal_texts(), message.id
            assert message.id not in shared, message.id


@pytest.mark.parametrize("code", TRANSLATED)
def test_texts_another_feature_also_translates_read_the_same(code):
    """A language's catalogues are merged into one, so a text two features share has one
    translation: a different one in another feature would replace the portal's (or the
    other way round) without anyone noticing."""
    portal = {message.id: message.string for message in _catalogue(code, "portal") if message.id}
    folder = LOCALES / code / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")):
        if path.stem == "portal":
            continue
        for message in _catalogue(code, path.stem):
            if message.id in portal:
                assert message.string == portal[message.id], (path.name, message.id)
