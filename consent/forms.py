"""Consent forms: the plain-language text a person was shown, by form, version and language.

Forms live as files, ``forms/<form_id>/<version>/<language>.md`` beside ``form.yaml``. A consent
records the SHA-256 of the exact text shown, so years later it is provable what the person read.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

FORMS = Path(__file__).with_name("forms")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class FormError(ValueError):
    """No such form, version or language."""


@dataclass(frozen=True)
class Form:
    form_id: str
    version: str
    language: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def load_form(form_id: str, version: str, language: str, folder: Path = FORMS) -> Form:
    if not (_NAME.match(form_id) and _NAME.match(version) and _NAME.match(language)):
        raise FormError("unknown form")
    base = folder / form_id / version
    metadata = base / "form.yaml"
    if not metadata.exists():
        raise FormError(f"unknown form {form_id!r} version {version!r}")
    languages = yaml.safe_load(metadata.read_text(encoding="utf-8")).get("languages", [])
    if language not in languages or not (base / f"{language}.md").exists():
        raise FormError(f"form {form_id!r} version {version!r} has no language {language!r}")
    return Form(form_id, version, language, (base / f"{language}.md").read_text(encoding="utf-8"))
