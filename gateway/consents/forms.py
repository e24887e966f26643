"""The shipped consent forms, as agency systems need them to show a form and name it in
``notice``: read by the consent domain's loader, the one that recording checks a notice with."""

from __future__ import annotations

from consent.forms import shipped_forms
from gateway.consents.models import ConsentForm, ConsentFormList, ConsentFormText


def list_forms() -> ConsentFormList:
    """Every shipped form version with each language's title, text and the SHA-256 of that text
    (the digest a consent recorded with it stores)."""
    return ConsentFormList(
        forms=[
            ConsentForm(
                form_id=form.form_id,
                form_version=form.version,
                languages=list(form.languages),
                texts=[
                    ConsentFormText(
                        language=text.language,
                        title=form.titles.get(text.language),
                        sha256=text.sha256,
                        text=text.text,
                    )
                    for text in form.texts
                ],
            )
            for form in shipped_forms()
        ]
    )
