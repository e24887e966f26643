"""Consent forms: the plain-language text a person was shown, by form, version and language.

Forms live as files, ``forms/<form_id>/<version>/<language>.md`` beside ``form.yaml``. A consent
records the SHA-256 of the exact text shown, so years later it is provable what the person read.
``shipped_forms`` lists them all, read through ``load_form``, so that a list and a recording see
the same text and the same digest.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        """The SHA-256 (hex) of the text's UTF-8 bytes: the digest a consent records."""
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True)
class FormVersion:
    """One version of a form: its title and text in each of its languages, in the order
    ``form.yaml`` lists them."""

    form_id: str
    version: str
    titles: dict[str, str]
    texts: tuple[Form, ...]

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(text.language for text in self.texts)


def load_form(form_id: str, version: str, language: str, folder: Path = FORMS) -> Form:
    if not (_NAME.match(form_id) and _NAME.match(version) and _NAME.match(language)):
        raise FormError("unknown form")
    base = folder / form_id / version
    metadata = _metadata(base)
    if metadata is None:
        raise FormError(f"unknown form {form_id!r} version {version!r}")
    if language not in metadata.get("languages", []) or not (base / f"{language}.md").exists():
        raise FormError(f"form {form_id!r} version {version!r} has no language {language!r}")
    return Form(form_id, version, language, (base / f"{language}.md").read_text(encoding="utf-8"))


def shipped_forms(folder: Path = FORMS) -> list[FormVersion]:
    """Every form version in ``folder``, by form id and then version (numerically where the
    versions are numbers), each text read by ``load_form``."""
    found = []
    for form in sorted(path for path in folder.iterdir() if _is_named_folder(path)):
        versions = [path for path in form.iterdir() if _is_named_folder(path)]
        for base in sorted(versions, key=lambda path: (len(path.name), path.name)):
            metadata = _metadata(base)
            if metadata is None:
                continue
            texts = tuple(
                load_form(form.name, base.name, str(language), folder)
                for language in metadata.get("languages", [])
            )
            titles = {
                str(language): str(title) for language, title in metadata.get("title", {}).items()
            }
            found.append(FormVersion(form.name, base.name, titles, texts))
    return found


def _metadata(base: Path) -> dict[str, Any] | None:
    """A form version's ``form.yaml``; None if there is none."""
    metadata = base / "form.yaml"
    if not metadata.is_file():
        return None
    loaded = yaml.safe_load(metadata.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def _is_named_folder(path: Path) -> bool:
    return path.is_dir() and _NAME.match(path.name) is not None
