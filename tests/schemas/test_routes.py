"""GET /v1/schemas and /v1/schemas/{category}: agency systems and DPOs holding policy:read fetch
the schemas the gateway validates against; anyone else gets a problem document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from gateway.agencies.tables import ClientRole
from gateway.schemas.registry import REFERENCE_SCHEMAS, load_schemas
from tests.support import Clients, RegisteredClient, client_assertion, token_form

TOKEN_ENDPOINT = "http://localhost/oauth/token"
PROBLEM = "application/problem+json"


def bearer(http: TestClient, client: RegisteredClient, scope: str | None = None) -> dict[str, str]:
    form = token_form(client_assertion(client.id, client.key, TOKEN_ENDPOINT), scope=scope)
    response = http.post("/oauth/token", data=form)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def agency(http: TestClient, clients: Clients) -> dict[str, str]:
    return bearer(http, clients.agency("koeln-jobcenter"))


def assert_problem(response: Any, status: int, problem_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert (body["type"], body["status"]) == (problem_type, status)
    return body


def test_an_agency_lists_the_categories_with_their_versions(
    http: TestClient, agency: dict[str, str]
):
    response = http.get("/v1/schemas", headers=agency)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["digest"] == load_schemas(REFERENCE_SCHEMAS).digest
    listed = {entry["category"]: entry for entry in body["schemas"]}
    assert sorted(listed) == load_schemas(REFERENCE_SCHEMAS).categories()
    assert listed["residence_status"] == {
        "category": "residence_status",
        "title": "Residence status",
        "versions": [1],
        "latest": "https://consent-gateway.invalid/schemas/residence_status.v1.json",
    }


def test_an_agency_reads_the_schema_document_of_a_category(
    http: TestClient, agency: dict[str, str]
):
    response = http.get("/v1/schemas/integration_measures", headers=agency)
    assert response.status_code == 200, response.text
    expected = json.loads((REFERENCE_SCHEMAS / "integration_measures.v1.json").read_text())
    assert response.json() == expected
    assert http.get("/v1/schemas/integration_measures?version=1", headers=agency).json() == (
        expected
    )


def test_a_dpo_may_read_the_schemas(http: TestClient, clients: Clients):
    dpo = bearer(http, clients.other("koeln-dpo", ClientRole.DPO))
    assert http.get("/v1/schemas/case_contact", headers=dpo).status_code == 200


@pytest.mark.parametrize(
    "path", ["/v1/schemas/health_record", "/v1/schemas/residence_status?version=2"]
)
def test_an_unknown_category_or_version_is_a_404_problem(
    http: TestClient, agency: dict[str, str], path: str
):
    body = assert_problem(http.get(path, headers=agency), 404, "/problems/schema-not-found")
    assert "health_record" not in body.get("detail", "")


def test_without_a_token_the_answer_is_401(http: TestClient):
    for path in ("/v1/schemas", "/v1/schemas/residence_status"):
        response = http.get(path)
        assert_problem(response, 401, "/problems/invalid-token")
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_token_without_policy_read_is_403(http: TestClient, clients: Clients):
    narrow = bearer(http, clients.agency("koeln-jobcenter"), scope="consent:read")
    monitoring = bearer(http, clients.other("koeln-monitoring", ClientRole.MONITORING))
    for headers in (narrow, monitoring):
        for path in ("/v1/schemas", "/v1/schemas/residence_status"):
            assert_problem(http.get(path, headers=headers), 403, "/problems/insufficient-scope")


def test_the_routes_are_in_a_valid_openapi_document(http: TestClient):
    document = http.get("/openapi.json").json()
    validate(document)
    operation = document["paths"]["/v1/schemas/{category}"]["get"]
    assert {"401", "403", "404"} <= set(operation["responses"])
    assert "/v1/schemas" in document["paths"]
