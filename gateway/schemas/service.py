"""What the schema API answers: the categories with their versions, and a schema document."""

from __future__ import annotations

from typing import Any, ClassVar

from gateway.errors import GatewayError, ProblemType, problem_type
from gateway.schemas.models import SchemaList, SchemaSummary
from gateway.schemas.registry import SchemaSet, UnknownCategory

SCHEMA_NOT_FOUND = problem_type(
    "schema-not-found",
    "Schema not found",
    404,
    "The gateway holds no schema for this category (or not this version of it); "
    "GET /v1/schemas lists the categories.",
)


class SchemaNotFound(GatewayError):
    kind: ClassVar[ProblemType] = SCHEMA_NOT_FOUND


def list_schemas(schemas: SchemaSet) -> SchemaList:
    summaries = []
    for category in schemas.categories():
        latest = schemas.latest(category)
        summaries.append(
            SchemaSummary(
                category=category,
                title=str(latest.document["title"]),
                versions=schemas.versions(category),
                latest=latest.id,
            )
        )
    return SchemaList(schemas=summaries, digest=schemas.digest)


def read_schema(schemas: SchemaSet, category: str, version: int | None = None) -> dict[str, Any]:
    try:
        return dict(schemas.get(category, version).document)
    except UnknownCategory:
        raise SchemaNotFound("no schema for this category and version") from None
