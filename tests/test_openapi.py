"""The served OpenAPI document is valid and documents every route's errors as problem+json."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from gateway.auth.scopes import ALL_SCOPES


def test_the_served_openapi_document_is_valid(http: TestClient):
    document = http.get("/openapi.json").json()
    validate(document)


def test_every_operation_documents_problem_errors(http: TestClient):
    document = http.get("/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            problem = operation["responses"]["default"]["content"]
            assert "application/problem+json" in problem, f"{method} {path}"
            for status, response in operation["responses"].items():
                if status.startswith("4") and path != "/oauth/token":
                    assert set(response["content"]) == {"application/problem+json"}, (
                        f"{method} {path} {status}"
                    )


def test_the_contract_routes_are_documented(http: TestClient):
    paths = http.get("/openapi.json").json()["paths"]
    for path in (
        "/oauth/token",
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in paths
    assert (
        "application/x-www-form-urlencoded"
        in paths["/oauth/token"]["post"]["requestBody"]["content"]
    )


def test_server_metadata_follows_rfc8414(http: TestClient):
    metadata = http.get("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == "http://localhost"
    assert metadata["token_endpoint"] == "http://localhost/oauth/token"
    assert metadata["jwks_uri"] == "http://localhost/.well-known/jwks.json"
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "private_key_jwt",
        "client_secret_basic",
    }
    assert set(metadata["token_endpoint_auth_signing_alg_values_supported"]) == {
        "Ed25519",
        "EdDSA",
        "ES256",
    }


def test_operation_ids_are_unique_short_and_stable(http: TestClient):
    """Generated clients (Java, .NET, TypeScript) name their methods after operationIds: each
    is the route function's name, not a string built from path and method that changes
    whenever a path does."""
    document = http.get("/openapi.json").json()
    ids = [
        operation["operationId"]
        for operations in document["paths"].values()
        for operation in operations.values()
    ]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", operation_id) for operation_id in ids)
    assert not [operation_id for operation_id in ids if "_v1_" in operation_id]
    assert document["paths"]["/v1/exchanges"]["post"]["operationId"] == "query"
    assert document["paths"]["/v1/consent-forms"]["get"]["operationId"] == "list_consent_forms"
    # Each says what it does on its own, as a method of a generated client (no bare `read`).
    assert document["paths"]["/v1/consents"]["post"]["operationId"] == "record_consent"
    assert document["paths"]["/v1/messages/{message_id}"]["get"]["operationId"] == "fetch_message"
    assert document["paths"]["/v1/audit/key"]["get"]["operationId"] == "audit_key"


def test_every_structured_body_is_a_named_component(http: TestClient):
    """Generated clients (Java, .NET, TypeScript) name their classes after components: every
    JSON or form body, asked or answered, is a `$ref` to one with a plain, stable name (not
    FastAPI's `Body_...`, `Response ...` or pydantic's `-Input`/`-Output`). A body that is
    plain text (a signed note, CSV, JSON lines, metrics) is a string and needs no name."""
    document = http.get("/openapi.json").json()
    components = document["components"]["schemas"]
    anonymous, dangling = [], []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            bodies = {"request": operation.get("requestBody", {})} | operation["responses"]
            for status, body in bodies.items():
                for media_type, content in body.get("content", {}).items():
                    schema = content["schema"]
                    where = f"{method} {path} {status} {media_type}"
                    if "$ref" in schema:
                        if schema["$ref"].removeprefix("#/components/schemas/") not in components:
                            dangling.append(where)
                    elif schema != {"type": "string"}:
                        anonymous.append(where)
    assert anonymous == []
    assert dangling == []
    assert [name for name in components if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name)] == []
    token = document["paths"]["/oauth/token"]["post"]["requestBody"]["content"]
    assert token["application/x-www-form-urlencoded"]["schema"]["$ref"].endswith("/TokenRequest")


PUBLIC = {
    ("POST", "/oauth/token"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/problems/{slug}"),
}


def _security(document: dict) -> dict[tuple[str, str], list | None]:
    return {
        (method.upper(), path): operation.get("security")
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def test_each_guarded_operation_names_the_scope_it_demands(http: TestClient):
    """Generated clients (and schemathesis's ignored_auth check) learn from the document which
    operations need a token, where to get it and with which scope."""
    document = http.get("/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["access_token"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "/oauth/token" in scheme["description"]
    assert all(f"`{scope.value}`" in scheme["description"] for scope in ALL_SCOPES)
    security = _security(document)
    assert {operation for operation, needs in security.items() if needs is None} == PUBLIC
    assert security[("POST", "/v1/exchanges")] == [{"access_token": ["exchange:query"]}]
    assert security[("GET", "/v1/audit/entries")] == [{"access_token": ["audit:read"]}]
    assert security[("GET", "/v1/consent-forms")] == [{"access_token": []}]  # any valid token


def test_every_operation_the_document_guards_refuses_a_request_without_a_token(
    http: TestClient,
):
    document = http.get("/openapi.json").json()
    for (method, path), needs in _security(document).items():
        if needs is None:
            continue
        concrete = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)
        response = http.request(method, concrete)
        assert response.status_code == 401, f"{method} {path}"
        assert response.headers["content-type"] == "application/problem+json"
