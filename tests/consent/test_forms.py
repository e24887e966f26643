"""The consent forms are complete in every language they list, and loading is exact."""

from __future__ import annotations

import re

import pytest
import yaml

from consent.forms import FORMS, FormError, load_form

FORM_FOLDERS = sorted(path.parent for path in FORMS.glob("*/*/form.yaml"))
REQUIRED = {"de", "en", "ar", "uk", "tr", "fa"}


def test_there_is_a_form():
    assert FORM_FOLDERS


@pytest.mark.parametrize("folder", FORM_FOLDERS, ids=lambda f: f"{f.parent.name}/{f.name}")
def test_every_form_has_all_languages_with_the_same_sections(folder):
    metadata = yaml.safe_load((folder / "form.yaml").read_text(encoding="utf-8"))
    assert set(metadata["languages"]) >= REQUIRED
    assert set(metadata["title"]) == set(metadata["languages"])
    sections = {}
    for language in metadata["languages"]:
        text = (folder / f"{language}.md").read_text(encoding="utf-8")
        assert text.startswith(f"# {metadata['title'][language]}")
        sections[language] = len(re.findall(r"^## ", text, flags=re.MULTILINE))
    assert len(set(sections.values())) == 1, sections
    assert next(iter(sections.values())) >= 7


def test_a_form_is_loaded_with_the_digest_of_its_exact_text():
    form = load_form("cross-agency-case-management", "1", "ar")
    assert form.text.startswith("# ")
    assert len(form.sha256) == 64
    assert form.sha256 != load_form("cross-agency-case-management", "1", "de").sha256


@pytest.mark.parametrize(
    ("form_id", "version", "language"),
    [("nope", "1", "de"), ("cross-agency-case-management", "9", "de"),
     ("cross-agency-case-management", "1", "fr"), ("../etc", "1", "de"),
     ("cross-agency-case-management", "1", "../de")],
)  # fmt: skip
def test_unknown_forms_versions_and_languages_are_refused(form_id, version, language):
    with pytest.raises(FormError):
        load_form(form_id, version, language)
