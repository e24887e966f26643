"""`GET /v1/consent-forms`: the shipped forms with each text and its digest, for any valid
token, and the names it gives are the ones recording accepts."""

from __future__ import annotations

import hashlib

import pytest
import yaml
from fastapi.testclient import TestClient

from consent.forms import FORMS
from gateway.agencies.tables import ClientRole
from tests.consents.conftest import JC, consent_body
from tests.support import Clients, client_assertion, token_form

SHIPPED = "cross-agency-case-management"


def listed(http: TestClient, headers: dict[str, str]) -> dict[str, dict]:
    response = http.get("/v1/consent-forms", headers=headers)
    assert response.status_code == 200, response.text
    return {form["form_id"]: form for form in response.json()["forms"]}


def test_the_shipped_form_is_listed_with_every_language(http, as_agency):
    form = listed(http, as_agency(JC))[SHIPPED]
    metadata = yaml.safe_load((FORMS / SHIPPED / "1" / "form.yaml").read_text(encoding="utf-8"))
    assert form["form_version"] == "1"
    assert form["languages"] == ["de", "en", "ar", "uk", "tr", "fa"] == metadata["languages"]
    assert [text["language"] for text in form["texts"]] == form["languages"]
    for text in form["texts"]:
        assert text["title"] == metadata["title"][text["language"]]
        assert text["text"].startswith(f"# {text['title']}\n")


def test_each_digest_is_of_the_exact_bytes_of_the_text_served_and_shipped(http, as_agency):
    for text in listed(http, as_agency(JC))[SHIPPED]["texts"]:
        served = text["text"].encode("utf-8")
        shipped = (FORMS / SHIPPED / "1" / f"{text['language']}.md").read_bytes()
        assert served == shipped
        assert text["sha256"] == hashlib.sha256(served).hexdigest()


def test_a_consent_naming_a_listed_form_is_recorded_with_the_listed_digest(http, as_agency):
    form = listed(http, as_agency(JC))[SHIPPED]
    farsi = next(text for text in form["texts"] if text["language"] == "fa")
    notice = {"form_id": SHIPPED, "form_version": form["form_version"], "language": "fa"}
    recorded = http.post("/v1/consents", json=consent_body(notice=notice), headers=as_agency(JC))
    assert recorded.status_code == 201, recorded.text
    stored = http.get(f"/v1/consents/{recorded.json()['consent_id']}", headers=as_agency(JC))
    assert stored.json()["notice"]["form_sha256"] == farsi["sha256"]
    # Names that are not in the list are refused: see REFUSALS in test_record.py.


@pytest.mark.parametrize("role", [ClientRole.DPO, ClientRole.MONITORING])
def test_any_valid_token_may_read_the_forms(http, clients: Clients, role: ClientRole):
    other = clients.other(f"city-{role.value}", role)
    form = token_form(client_assertion(other.id, other.key, "http://localhost/oauth/token"))
    token = http.post("/oauth/token", data=form).json()["access_token"]
    assert SHIPPED in listed(http, {"Authorization": f"Bearer {token}"})


def test_without_a_token_the_answer_is_a_401_problem(http):
    response = http.get("/v1/consent-forms")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/invalid-token"
    assert response.headers["www-authenticate"].startswith("Bearer ")


def test_the_route_is_documented_with_its_shape_and_errors(http):
    document = http.get("/openapi.json").json()
    operation = document["paths"]["/v1/consent-forms"]["get"]
    assert operation["operationId"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/ConsentFormList"}
    assert "application/problem+json" in operation["responses"]["401"]["content"]
    assert "422" not in operation["responses"]  # it takes no input that could be invalid
    text = document["components"]["schemas"]["ConsentFormText"]
    assert {"language", "title", "sha256", "text"} <= set(text["properties"])
