"""The consent forms are complete in every language they list, and loading is exact."""

from __future__ import annotations

import re

import pytest
import yaml

from consent.forms import FORMS, FormError, load_form, shipped_forms

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


def test_the_shipped_forms_are_listed_as_recording_loads_them():
    (form,) = [form for form in shipped_forms() if form.form_id == "cross-agency-case-management"]
    assert form.version == "1"
    assert set(form.languages) >= REQUIRED
    for text in form.texts:
        assert text == load_form(form.form_id, form.version, text.language)


def test_versions_are_listed_in_numeric_order_and_folders_without_form_yaml_skipped(tmp_path):
    for version in ("10", "9", "draft"):
        base = tmp_path / "a-form" / version
        base.mkdir(parents=True)
        if version != "draft":
            (base / "form.yaml").write_text("languages: [en]\ntitle: {en: A}\n", encoding="utf-8")
            (base / "en.md").write_text(f"# A\n\nversion {version}\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("not a form", encoding="utf-8")
    listed = shipped_forms(tmp_path)
    assert [(form.form_id, form.version) for form in listed] == [("a-form", "9"), ("a-form", "10")]
    assert listed[0].titles == {"en": "A"}
    assert listed[1].texts[0].text == "# A\n\nversion 10\n"
