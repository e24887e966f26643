"""Every text of the DPO pages (templates and Python, as pybabel extracts them with the
repository's babel.cfg) is translated into German, Arabic, Ukrainian, Turkish and Farsi, with
the same placeholders; the DPO catalogue holds nothing the pages no longer use."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

import gateway

ROOT = Path(gateway.__file__).parent.parent
LOCALES = ROOT / "gateway" / "web" / "locales"
TRANSLATED = ["de", "ar", "uk", "tr", "fa"]
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@cache
def dpo_texts() -> frozenset[str]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for filename, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map
    ):
        if Path(filename).parts[:2] == ("gateway", "dpo"):
            found.add(message if isinstance(message, str) else message[0])
    return frozenset(found)


def catalogue(code: str, feature: str) -> dict[str, str]:
    with (LOCALES / code / "LC_MESSAGES" / f"{feature}.po").open("rb") as file:
        return {str(message.id): str(message.string) for message in read_po(file) if message.id}


def test_the_extraction_finds_the_dpo_texts():
    texts = dpo_texts()
    assert "Audit log" in texts  # a template
    assert "no consent" in texts  # a label marked with N_ in Python
    assert len(texts) > 150


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_dpo_text_is_translated(code):
    known = catalogue(code, "web") | catalogue(code, "dpo")
    missing = sorted(text for text in dpo_texts() if not known.get(text, "").strip())
    assert missing == []


@pytest.mark.parametrize("code", TRANSLATED)
def test_translations_keep_the_placeholders(code):
    for text, translation in catalogue(code, "dpo").items():
        wanted = sorted(_PLACEHOLDER.findall(text))
        assert sorted(_PLACEHOLDER.findall(translation)) == wanted, text
        assert "%" not in _PLACEHOLDER.sub("", translation), text


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_dpo_catalogue_holds_only_texts_in_use(code):
    assert sorted(set(catalogue(code, "dpo")) - dpo_texts()) == []
