"""The reusable guard of every protected route: a valid bearer token with the needed scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar

from fastapi import Request, Security
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase

from gateway.agencies import repository as registry
from gateway.agencies.repository import KnownClient
from gateway.auth.scopes import SCOPE_DESCRIPTIONS, Scope
from gateway.auth.tokens import InvalidAccessToken
from gateway.errors import GatewayError, ProblemType, problem_type
from gateway.runtime import Runtime, RuntimeDep

INVALID_TOKEN = problem_type(
    "invalid-token",
    "Invalid access token",
    401,
    "The request carries no bearer token, or one this gateway did not issue, or one that has "
    "expired, or its client has been disabled. Get a new token at /oauth/token.",
)
INSUFFICIENT_SCOPE = problem_type(
    "insufficient-scope",
    "Insufficient scope",
    403,
    "The access token does not carry the scope this endpoint needs.",
)


class InvalidToken(GatewayError):
    kind: ClassVar[ProblemType] = INVALID_TOKEN

    def __init__(self, detail: str):
        super().__init__(
            detail,
            headers={
                "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{detail}"'
            },
        )


class InsufficientScope(GatewayError):
    kind: ClassVar[ProblemType] = INSUFFICIENT_SCOPE

    def __init__(self, scope: Scope):
        detail = f"this endpoint needs the scope {scope.value}"
        super().__init__(
            detail,
            headers={
                "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope.value}"'
            },
        )


class _AccessToken(SecurityBase):
    """The gateway's access tokens as the OpenAPI document names them: FastAPI lists this
    scheme, and each guard's scope, in every guarded operation's security requirement. It
    only hands over the Authorization header; the guards below judge it (with problem+json)."""

    def __init__(self) -> None:
        scopes = "".join(
            f"\n- `{scope.value}`: {text}" for scope, text in SCOPE_DESCRIPTIONS.items()
        )
        self.model = HTTPBearerModel(
            bearerFormat="JWT",
            description="An RFC 9068 access token from `POST /oauth/token` (OAuth 2.0 client "
            "credentials; the client authenticates with private_key_jwt or client_secret_basic; "
            "RFC 8414 metadata at `/.well-known/oauth-authorization-server`), sent as "
            "`Authorization: Bearer <token>`. Each operation names the scope it needs (none "
            "named: any valid token). No valid token: 401; a token without the scope: 403. "
            f"\n\nScopes:{scopes}",
        )
        self.scheme_name = "access_token"

    async def __call__(self, request: Request) -> str | None:
        return request.headers.get("authorization")


ACCESS_TOKEN = _AccessToken()


def _demanded(scope: Scope | None) -> list[str]:
    return [scope.value] if scope is not None else []


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a registry client, and its agency if it is one."""

    client_id: str
    role: str
    scopes: frozenset[str]
    agency_kind: str | None = None
    municipality: str | None = None


def require_scope(scope: Scope | None) -> Callable[..., Principal]:
    """A dependency admitting callers whose token is valid now and carries ``scope``
    (any valid token when ``scope`` is None)."""

    def authenticate(
        request: Request,
        runtime: RuntimeDep,
        authorization: str | None = Security(ACCESS_TOKEN, scopes=_demanded(scope)),
    ) -> Principal:
        client_id, granted = _verified(request, authorization, runtime, scope)
        # A short read of its own, not the request's transaction: a writing request must not
        # hold the (SQLite) write lock while it authenticates, nor before it needs it.
        with runtime.database.transaction(read_only=True) as session:
            client = registry.caller(session, client_id)
        return _principal(client, granted, runtime.settings.demo, scope)

    return authenticate


@dataclass(frozen=True)
class Admission:
    """A valid token carrying the needed scope, whose client is yet to be confirmed as
    enabled: the route's service confirms it in its own first transaction."""

    client_id: str
    scopes: frozenset[str]
    demo: bool  # whether demo clients are admitted
    needed: Scope

    def confirm_as(self, client: KnownClient | None) -> Principal:
        """The caller, if its client (as the service read it in its first transaction; None:
        not found) is still enabled (else ``InvalidToken``) and still holds the scope the
        route needs (else ``InsufficientScope``)."""
        return _principal(client, self.scopes, self.demo, self.needed)


def admit(scope: Scope) -> Callable[..., Awaitable[Admission]]:
    """The guard of the busiest routes, split in two: the token is checked here, in the event
    loop, and the client in the service's first transaction (``Admission.confirm_as``). The same
    checks as ``require_scope``, without a transaction and a worker thread of their own."""

    async def admission(
        request: Request,
        runtime: RuntimeDep,
        authorization: str | None = Security(ACCESS_TOKEN, scopes=_demanded(scope)),
    ) -> Admission:
        client_id, granted = _verified(request, authorization, runtime, scope)
        return Admission(client_id, granted, runtime.settings.demo, scope)

    return admission


def _verified(
    request: Request, authorization: str | None, runtime: Runtime, scope: Scope | None
) -> tuple[str, frozenset[str]]:
    """The client id and scopes of the request's bearer token, if it is valid now and
    carries ``scope``."""
    try:
        claims = runtime.tokens.verify(_bearer_token(authorization))
    except InvalidAccessToken as invalid:
        raise InvalidToken(str(invalid)) from None
    granted = frozenset(str(claims.get("scope", "")).split())
    if scope is not None and scope.value not in granted:
        raise InsufficientScope(scope)
    request.state.client_id = claims["client_id"]
    return claims["client_id"], granted


def _principal(
    client: KnownClient | None, granted: frozenset[str], demo: bool, needed: Scope | None
) -> Principal:
    """The caller, with the scopes its token carries that its client still holds: a scope
    taken from a client (the emergency scope) is gone at once, not when its tokens expire."""
    if client is None or not client.enabled or (client.demo and not demo):
        raise InvalidToken("the token's client is disabled")
    scopes = granted & client.scopes
    if needed is not None and needed.value not in scopes:
        raise InsufficientScope(needed)
    return Principal(
        client_id=client.id,
        role=client.role,
        scopes=scopes,
        agency_kind=client.agency.kind if client.agency else None,
        municipality=client.agency.municipality if client.agency else None,
    )


def _bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("a bearer token is required")
    return token.strip()
