"""Response shapes of the gateway's public keys."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class JwkSet(BaseModel):
    """A JWK set (RFC 7517 §5): every public key the gateway signs or signed with."""

    keys: list[dict[str, Any]] = Field(description="Public JWKs, each with its `kid`.")
