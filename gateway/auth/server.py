"""The OAuth 2.0 token endpoint, built on authlib's framework-independent server core.

Client credentials grant only (RFC 6749 §4.4). Clients authenticate with ``private_key_jwt``
(RFC 7523, an assertion signed with their registered key) or ``client_secret_basic``.

Unlike other endpoints, a token request holds no transaction open while it works: it reads the
client in a short read-only transaction and records a used ``jti`` in a short write transaction
committed at once. Verifying signatures and hashing secrets take time, and on SQLite an open
write transaction would hold the database's only write lock meanwhile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from gateway.agencies import repository as registry
from gateway.agencies.credentials import MIN_SECRET_LENGTH, verify_secret
from gateway.agencies.service import is_client_id
from gateway.agencies.tables import Client
from gateway.auth import repository
from gateway.auth.jose import ASSERTION_ALGORITHMS
from gateway.auth.scopes import ALL_SCOPES, NAMED_ONLY
from gateway.auth.tokens import issue_access_token
from gateway.db.engine import Database
from gateway.keys.store import KeyStore
from gateway.settings import Settings

PRIVATE_KEY_JWT = "private_key_jwt"
CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 (a method name)


@dataclass(frozen=True)
class TokenResponse:
    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]]


class RegisteredClient(ClientMixin):
    """A registry client as authlib sees it."""

    def __init__(self, row: Client):
        self.row = row

    def get_client_id(self) -> str:
        return self.row.id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        # No scope asked for: every scope the client may hold but those granted only by name
        # (the emergency scope). Asked for: validated to be a subset already
        # (ClientCredentials.validate_requested_scope).
        allowed = self.row.scope_set
        requested = set(scope.split()) if scope else allowed - NAMED_ONLY
        return " ".join(sorted(requested & allowed))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        if self.row.secret_hash is None or len(client_secret) < MIN_SECRET_LENGTH:
            return False  # no memory-hard hashing for what cannot be a registered secret
        return verify_secret(client_secret, self.row.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint != "token":
            return False
        if method == PRIVATE_KEY_JWT:
            return self.row.jwks is not None
        if method == CLIENT_SECRET_BASIC:
            return self.row.secret_hash is not None
        return False

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class ClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [CLIENT_SECRET_BASIC, PRIVATE_KEY_JWT]  # noqa: RUF012

    def validate_requested_scope(self) -> None:
        requested = set((self.request.payload.scope or "").split())
        if not requested <= ALL_SCOPES:
            raise InvalidScopeError(description="The request names an unknown scope.")
        client = self.request.client
        if not requested <= client.row.scope_set:
            raise InvalidScopeError(description="The client may not hold the requested scope.")


AUTHENTICATION_FAILED = "Client authentication failed."


def _explained(description: str) -> InvalidClientError:
    """A refusal whose reason may be told: the caller proved it holds the client's key."""
    error = InvalidClientError(description=description)
    error.explained = True
    return error


class PrivateKeyJwt(JWTBearerClientAssertion):
    """``private_key_jwt`` with an algorithm allow-list, short lifetimes and one use per ``jti``."""

    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __init__(self, database: Database, settings: Settings):
        super().__init__(validate_jti=True, leeway=settings.clock_leeway)
        self.database = database
        self.settings = settings

    def __call__(self, query_client: Any, request: OAuth2Request) -> Any:
        # RFC 6749 §2.3: a client must not use more than one authentication method per request.
        # Here the Authorization header authenticates a client only as HTTP Basic
        # (client_secret_basic); another scheme (a bearer token that some HTTP clients attach
        # to every request) authenticates nothing at this endpoint and is ignored.
        scheme = request.headers.get("Authorization", "").partition(" ")[0]
        if request.form.get("client_assertion") and scheme.lower() == "basic":
            raise InvalidRequestError(
                description="Use one client authentication method: a client assertion or "
                "HTTP Basic, not both."
            )
        return super().__call__(query_client, request)

    def get_audiences(self) -> list[str]:
        # RFC 7523 names the token endpoint; newer guidance (RFC 7523bis) the issuer. Both
        # identify this server alone.
        return [self.settings.token_endpoint, self.settings.issuer]

    def resolve_client_public_key(self, client: RegisteredClient) -> KeySet:
        if client.row.jwks is None:  # a client with a secret has no keys to check against
            raise InvalidClientError(description=AUTHENTICATION_FAILED)
        return KeySet.import_key_set(client.row.jwks)  # type: ignore[arg-type]  # same JSON shape as joserfc's TypedDict

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(ASSERTION_ALGORITHMS))
        except JoseError as failed:
            if failed.error == "unsupported_algorithm":
                raise _explained("The assertion's signing algorithm is not accepted.") from None
            raise InvalidClientError(description=AUTHENTICATION_FAILED) from None
        # The signature holds: from here on, the reasons help the client's developers.
        try:
            self.verify_claims(token.claims)
        except InvalidClientError as refused:
            refused.explained = True
            raise
        return token.claims

    def verify_claims(self, claims: Any) -> None:
        expires = claims.get("exp")
        if not isinstance(expires, int):
            raise InvalidClientError(description="The assertion needs a numeric 'exp'.")
        now = int(time.time())
        if expires - now > self.settings.assertion_max_lifetime + self.settings.clock_leeway:
            raise InvalidClientError(
                description="The assertion lives too long; "
                f"'exp' may be at most {self.settings.assertion_max_lifetime} s ahead."
            )
        super().verify_claims(claims)

    def validate_jti(self, claims: Any, jti: Any) -> bool:
        if not isinstance(jti, str) or not 8 <= len(jti) <= 255 or not jti.isprintable():
            raise InvalidClientError(
                description="The assertion's 'jti' must be 8 to 255 printable characters."
            )
        now = datetime.now(UTC)
        client_id = claims["sub"]
        # Kept a leeway beyond the assertion's own acceptance, so that an instance whose clock
        # runs a little ahead never forgets a jti another instance would still accept.
        expires_at = datetime.fromtimestamp(claims["exp"] + 2 * self.settings.clock_leeway, UTC)
        with self.database.transaction() as session:
            repository.forget_expired_assertions(session, client_id, now)
            return repository.remember_assertion(session, client_id, jti, expires_at)


class TokenServer(AuthorizationServer):
    """One token request's authorization server."""

    def __init__(self, database: Database, settings: Settings, keys: KeyStore):
        super().__init__(scopes_supported=sorted(ALL_SCOPES))
        self.database = database
        self.settings = settings
        self.keys = keys
        self.register_grant(ClientCredentials)
        self.register_client_auth_method(PRIVATE_KEY_JWT, PrivateKeyJwt(database, settings))
        self.register_token_generator("default", self._generate_token)

    def authenticate_client(
        self, request: OAuth2Request, methods: list[str], endpoint: str = "token"
    ) -> RegisteredClient:
        try:
            client: RegisteredClient = super().authenticate_client(request, methods, endpoint)
        except InvalidClientError as refused:
            if getattr(refused, "explained", False):
                raise
            # Unknown client, wrong secret, wrong key: one answer, so that the endpoint does not
            # tell which client ids exist.
            raise InvalidClientError(
                status_code=refused.status_code, description=AUTHENTICATION_FAILED
            ) from None
        return client

    def query_client(self, client_id: str) -> RegisteredClient | None:
        if not is_client_id(client_id):
            return None
        with self.database.transaction(read_only=True) as session:
            row = registry.get_client(session, client_id)
        if row is None or not row.enabled:
            return None
        if row.demo and not self.settings.demo:
            # Demo keys lie around in a demo folder; they must never open a real deployment.
            return None
        return RegisteredClient(row)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Access tokens are self-contained JWTs; nothing to store."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No listeners."""

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_response(
        self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]
    ) -> TokenResponse:
        return TokenResponse(status, body, list(headers))

    def _generate_token(
        self,
        grant_type: str,
        client: RegisteredClient,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = False,
    ) -> dict[str, Any]:
        granted = client.get_allowed_scope(scope)
        lifetime = self.settings.access_token_lifetime
        access_token = issue_access_token(
            self.keys,
            issuer=self.settings.issuer,
            audience=self.settings.audience,
            client_id=client.get_client_id(),
            scope=granted,
            lifetime=lifetime,
        )
        return {
            "token_type": "Bearer",
            "access_token": access_token,
            "expires_in": lifetime,
            "scope": granted,
        }


class FormRequest(OAuth2Request):
    """A token request whose form body the web layer has already parsed."""

    def __init__(self, form: dict[str, str], headers: Any, settings: Settings):
        # The URI is the configured endpoint, not the one the request arrived at: behind a
        # TLS-terminating proxy the latter is plain http.
        super().__init__("POST", settings.token_endpoint, headers=headers)
        self.payload = BasicOAuth2Payload(form)
        self._form = form

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


def respond_to_token_request(
    database: Database, settings: Settings, keys: KeyStore, request: OAuth2Request
) -> TokenResponse:
    response = TokenServer(database, settings, keys).create_token_response(request)
    assert isinstance(response, TokenResponse)
    return response
