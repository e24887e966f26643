"""The OpenAPI document states the rule the server holds a message to: its payload matches its
category's JSON Schema (schemathesis sent payloads the document allowed, any object or list,
and the server refused them with 422)."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
from fastapi.testclient import TestClient

from gateway.runtime import Runtime
from tests.messages.conftest import invitation


def request_validator(document: dict[str, Any]) -> Any:
    """A validator of the message request as the document describes it (its references
    resolved within the document)."""
    return jsonschema_rs.validator_for({**document, "$ref": "#/components/schemas/MessageIn"})


def test_each_categorys_payload_schema_is_the_one_the_server_validates_with(
    http: TestClient, runtime: Runtime
):
    document = http.get("/openapi.json").json()
    components = document["components"]["schemas"]
    rules = {
        rule["if"]["properties"]["category"]["const"]: rule["then"]["properties"]["payload"]
        for rule in components["MessageIn"]["allOf"]
    }
    assert set(rules) == set(runtime.schemas.categories())
    for category, payload in rules.items():
        loaded = dict(runtime.schemas.latest(category).document)
        del loaded["$id"], loaded["$schema"]  # the file's own identifiers, not its rules
        assert components[payload["$ref"].removeprefix("#/components/schemas/")] == loaded


def test_the_document_refuses_a_payload_the_server_refuses(http: TestClient):
    validator = request_validator(http.get("/openapi.json").json())
    assert validator.is_valid(invitation())
    assert not validator.is_valid(invitation(payload={"topic": "Hilfeplan"}))  # fields missing
    assert not validator.is_valid(invitation(payload=[]))
    residence = invitation(category="residence_status")  # a case conference is no status
    assert not validator.is_valid(residence)
