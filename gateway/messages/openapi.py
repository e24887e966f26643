"""The message request in the OpenAPI document: a payload must match its category's JSON
Schema (the latest version), which the document states with one if/then per category over
the schemas the gateway loaded, so that clients generated from it, and fuzzers, send what the
server takes."""

from __future__ import annotations

from typing import Any

from gateway.schemas.registry import SchemaSet

REQUEST = "MessageIn"


def state_payload_schemas(document: dict[str, Any], schemas: SchemaSet) -> None:
    components = document["components"]["schemas"]
    rules = []
    for category in schemas.categories():
        schema = schemas.latest(category)
        # A plain name, as generated clients name their types after components.
        name = "".join(word.capitalize() for word in category.split("_")) + f"V{schema.version}"
        # The file's own identifiers would make it a separate resource inside the document.
        components[name] = {
            key: value for key, value in schema.document.items() if key not in ("$id", "$schema")
        }
        rules.append(
            {
                "if": {"properties": {"category": {"const": category}}, "required": ["category"]},
                "then": {"properties": {"payload": {"$ref": f"#/components/schemas/{name}"}}},
            }
        )
    components[REQUEST]["allOf"] = rules
