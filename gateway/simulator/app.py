"""The reference provider application."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from pydantic import BaseModel, ConfigDict


class FetchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exchange_id: str
    subject_ref: str
    categories: list[str]
    purpose: str


def provider_app(
    agency_id: str,
    issuer: str,
    gateway_keys: Callable[[], KeySet],
    cases: Mapping[str, Mapping[str, Any]],
) -> FastAPI:
    """An agency system that answers the gateway from ``cases`` (reference -> category -> data),
    after checking that the gateway signed the request's token for this agency."""
    app = FastAPI(title=f"Reference provider {agency_id}")

    @app.post("/gateway/v1/fetch")
    def fetch(
        request: FetchRequest, authorization: Annotated[str, Header()] = ""
    ) -> dict[str, Any]:
        _check_token(authorization, agency_id, issuer, gateway_keys)
        case = cases.get(request.subject_ref)
        if case is None:
            raise HTTPException(status_code=404, detail="unknown reference")
        return {category: case[category] for category in request.categories if category in case}

    return app


def _check_token(
    authorization: str, agency_id: str, issuer: str, gateway_keys: Callable[[], KeySet]
) -> None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status_code=401, detail="bearer token required")
    try:
        claims = jwt.decode(token, gateway_keys(), algorithms=["Ed25519"]).claims
        JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": agency_id},
            exp={"essential": True},
        ).validate(claims)
    except (JoseError, ValueError):
        raise HTTPException(status_code=401, detail="not a gateway token for us") from None
