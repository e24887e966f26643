"""HTTP routes of the auth feature: the token endpoint, server metadata and the caller's view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.auth.dependencies import INSUFFICIENT_SCOPE, INVALID_TOKEN, Principal, require_scope
from gateway.auth.jose import ASSERTION_ALGORITHMS
from gateway.auth.models import Me, ServerMetadata, TokenAnswer, TokenErrorAnswer
from gateway.auth.scopes import ALL_SCOPES
from gateway.auth.server import (
    CLIENT_SECRET_BASIC,
    PRIVATE_KEY_JWT,
    FormRequest,
    respond_to_token_request,
)
from gateway.errors import PAYLOAD_TOO_LARGE, problem_responses
from gateway.runtime import RuntimeDep

router = APIRouter(tags=["auth"])

_TOKEN_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "scope": {"type": "string"},
                        "client_assertion_type": {
                            "type": "string",
                            "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
                        },
                        "client_assertion": {"type": "string"},
                    },
                    # RFC 6749 §3.2: other parameters are ignored, but none may be sent more
                    # than once, and a form value sent once is one string.
                    "additionalProperties": {"type": "string"},
                }
            }
        },
    }
}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post(
    "/oauth/token",
    summary="Get an access token (client credentials grant)",
    response_model=TokenAnswer,
    responses={
        400: {"model": TokenErrorAnswer, "description": "RFC 6749 error"},
        401: {"model": TokenErrorAnswer, "description": "Client authentication failed"},
        **problem_responses(PAYLOAD_TOO_LARGE, validation=False),
    },
    openapi_extra=_TOKEN_FORM,
)
async def token(request: Request, runtime: RuntimeDep) -> JSONResponse:
    form = await _read_form(request)
    if form is None:
        return _token_error(
            runtime, 400, "invalid_request", "Send the parameters form-encoded, each once."
        )
    oauth_request = FormRequest(form, request.headers, runtime.settings)
    answer = await run_in_threadpool(
        respond_to_token_request, runtime.database, runtime.settings, runtime.keys, oauth_request
    )
    if answer.status == 200:
        runtime.metrics.tokens_issued.labels(oauth_request.auth_method or "unknown").inc()
        request.state.client_id = oauth_request.client.get_client_id()
    else:
        runtime.metrics.token_refusals.labels(str(answer.body.get("error", "unknown"))).inc()
    headers = {name: value for name, value in answer.headers if name.lower() != "content-type"}
    return JSONResponse(answer.body, status_code=answer.status, headers=headers | _NO_STORE)


async def _read_form(request: Request) -> dict[str, str] | None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return None
    try:
        form = await request.form()
    except StarletteHTTPException:  # e.g. more fields than Starlette parses
        return None
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        # RFC 6749 §3.2: parameters must not be included more than once.
        if name in values or not isinstance(value, str):
            return None
        values[name] = value
    return values


def _token_error(runtime: Any, status: int, error: str, description: str) -> JSONResponse:
    runtime.metrics.token_refusals.labels(error).inc()
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=_NO_STORE
    )


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="Authorization server metadata (RFC 8414)",
    response_model=ServerMetadata,
)
def server_metadata(runtime: RuntimeDep) -> ServerMetadata:
    issuer = runtime.settings.issuer
    return ServerMetadata(
        issuer=issuer,
        token_endpoint=runtime.settings.token_endpoint,
        jwks_uri=f"{issuer}/.well-known/jwks.json",
        grant_types_supported=["client_credentials"],
        response_types_supported=[],
        token_endpoint_auth_methods_supported=[PRIVATE_KEY_JWT, CLIENT_SECRET_BASIC],
        token_endpoint_auth_signing_alg_values_supported=list(ASSERTION_ALGORITHMS),
        scopes_supported=sorted(ALL_SCOPES),
    )


@router.get(
    "/v1/me",
    summary="Who the gateway takes the caller to be (to check an integration)",
    response_model=Me,
    responses=problem_responses(INVALID_TOKEN, INSUFFICIENT_SCOPE),
)
def me(principal: Annotated[Principal, Depends(require_scope(None))]) -> Me:
    return Me(
        client_id=principal.client_id,
        role=principal.role,
        scopes=sorted(principal.scopes),
        agency_kind=principal.agency_kind,
        municipality=principal.municipality,
    )
