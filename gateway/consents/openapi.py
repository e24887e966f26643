"""The consent request in the OpenAPI document: its notice names a form the gateway ships, in
one of that version's languages, which the document states as one alternative per shipped form
version, so that a client (or a fuzzer) can tell a valid notice from the document alone."""

from __future__ import annotations

from typing import Any

from consent.forms import shipped_forms

NOTICE = "NoticeIn"


def state_shipped_forms(document: dict[str, Any]) -> None:
    document["components"]["schemas"][NOTICE]["anyOf"] = [
        {
            "properties": {
                "form_id": {"const": form.form_id},
                "form_version": {"const": form.version},
                "language": {"enum": list(form.languages)},
            }
        }
        for form in shipped_forms()
    ]
