"""Response shapes of the auth feature."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

# The token endpoint's form, as the OpenAPI document names it (component `TokenRequest`). No
# model parses it: the route reads the form itself, so that a bad request gets an RFC 6749
# error body, not a 422 problem.
TOKEN_REQUEST: dict[str, Any] = {
    "title": "TokenRequest",
    "description": "RFC 6749 §4.4.2 access token request (client credentials), the client "
    "authenticated by an RFC 7523 assertion (private_key_jwt) or by HTTP Basic "
    "(client_secret_basic, then without the client_assertion fields).",
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
    # RFC 6749 §3.2: other parameters are ignored, but none may be sent more than once, and a
    # form value sent once is one string.
    "additionalProperties": {"type": "string"},
}


class TokenAnswer(BaseModel):
    """RFC 6749 §5.1 access token response."""

    access_token: str
    token_type: str = Field(examples=["Bearer"])
    expires_in: int
    scope: str


class TokenErrorAnswer(BaseModel):
    """RFC 6749 §5.2 error response."""

    error: str = Field(
        examples=["invalid_client"],
        description="invalid_request, invalid_client, invalid_grant, unauthorized_client, "
        "unsupported_grant_type or invalid_scope",
    )
    error_description: str | None = None


class ServerMetadata(BaseModel):
    """RFC 8414 authorization server metadata."""

    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    response_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    token_endpoint_auth_signing_alg_values_supported: list[str]
    scopes_supported: list[str]


class Me(BaseModel):
    """Who the gateway takes the caller to be."""

    client_id: str
    role: str = Field(examples=["agency"])
    scopes: list[str]
    agency_kind: str | None = None
    municipality: str | None = None
