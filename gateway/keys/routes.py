"""The gateway's public keys, for anyone verifying what it signed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gateway.keys.models import JwkSet
from gateway.runtime import RuntimeDep

router = APIRouter(tags=["auth"])


@router.get(
    "/.well-known/jwks.json",
    summary="The gateway's public signing keys (JWK set)",
    response_model=JwkSet,
)
def jwks(runtime: RuntimeDep) -> JSONResponse:
    # Short caching: after a rotation, verifiers should see the new key within a minute.
    return JSONResponse(runtime.keys.public_jwks(), headers={"Cache-Control": "max-age=60"})
