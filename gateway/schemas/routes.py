"""HTTP routes of the schema registry: which categories the gateway validates, and how."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from gateway.auth.dependencies import INSUFFICIENT_SCOPE, INVALID_TOKEN, Principal, require_scope
from gateway.auth.scopes import Scope
from gateway.errors import problem_responses
from gateway.schemas import service
from gateway.schemas.models import CategorySchema, SchemaList
from gateway.schemas.registry import SchemaSet
from gateway.schemas.service import SCHEMA_NOT_FOUND

router = APIRouter(prefix="/v1/schemas", tags=["policies and schemas"])
Reader = Annotated[Principal, Depends(require_scope(Scope.POLICY_READ))]
_AUTH = (INVALID_TOKEN, INSUFFICIENT_SCOPE)


def schemas_dependency(request: Request) -> SchemaSet:
    """The schema set loaded at start-up (``app.state.schemas``)."""
    schemas: SchemaSet = request.app.state.schemas
    return schemas


Schemas = Annotated[SchemaSet, Depends(schemas_dependency)]


@router.get(
    "",
    summary="The categories the gateway validates, with their schema versions",
    response_model=SchemaList,
    responses=problem_responses(*_AUTH),
)
def list_schemas(principal: Reader, schemas: Schemas) -> SchemaList:
    return service.list_schemas(schemas)


@router.get(
    "/{category}",
    summary="The JSON Schema (draft 2020-12) of a category: the latest version, or the one asked",
    response_model=CategorySchema,
    responses=problem_responses(*_AUTH, SCHEMA_NOT_FOUND),
)
def read_schema(
    principal: Reader,
    schemas: Schemas,
    category: Annotated[str, Path(max_length=64)],
    version: Annotated[int | None, Query(ge=1, le=9999)] = None,
) -> dict[str, Any]:
    return service.read_schema(schemas, category, version)
