"""Response shapes of the schema API (PRODUCT.md §4.2, Policies and schemas)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, RootModel


class SchemaSummary(BaseModel):
    category: str = Field(description="The exchanged category, e.g. `residence_status`.")
    title: str = Field(description="The latest version's title.")
    versions: list[int] = Field(description="Every version the gateway holds, oldest first.")
    latest: str = Field(description="The `$id` of the latest version.")


class SchemaList(BaseModel):
    schemas: list[SchemaSummary]
    digest: str = Field(
        description="SHA-256 over the canonical form of every schema file, to compare gateways."
    )


class CategorySchema(RootModel[dict[str, Any]]):
    """A category's JSON Schema (draft 2020-12), as the gateway validates with it."""
