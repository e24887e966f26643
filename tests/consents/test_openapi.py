"""The OpenAPI document states which notices a consent may name: the forms the gateway ships,
each version in its languages (the server refuses others with 422 at /body/notice)."""

from __future__ import annotations

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from tests.consents.conftest import FORM, JC


def test_the_document_names_exactly_the_shipped_forms_and_languages(http: TestClient, as_agency):
    document = http.get("/openapi.json").json()
    stated = {
        (form["properties"]["form_id"]["const"], form["properties"]["form_version"]["const"]): (
            form["properties"]["language"]["enum"]
        )
        for form in document["components"]["schemas"]["NoticeIn"]["anyOf"]
    }
    listed = http.get("/v1/consent-forms", headers=as_agency(JC)).json()["forms"]
    assert stated == {(form["form_id"], form["form_version"]): form["languages"] for form in listed}
    assert stated[(FORM["form_id"], FORM["form_version"])] == ["de", "en", "ar", "uk", "tr", "fa"]


@pytest.mark.parametrize(
    ("notice", "valid"),
    [
        (FORM, True),
        (dict(FORM, language="fa", interpreter_language="prs"), True),
        (dict(FORM, language="fr"), False),
        (dict(FORM, form_version="2"), False),
        (dict(FORM, form_id="no-such-form"), False),
    ],
)
def test_the_document_refuses_a_notice_the_server_refuses(
    http: TestClient, notice: dict[str, str], valid: bool
):
    document = http.get("/openapi.json").json()
    validator = jsonschema_rs.validator_for({**document, "$ref": "#/components/schemas/NoticeIn"})
    assert validator.is_valid(notice) == valid
