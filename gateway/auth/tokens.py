"""Access tokens: JWTs per RFC 9068, signed by the gateway's current key, verified strictly."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from gateway.auth.jose import ACCESS_TOKEN_ALGORITHMS, ACCESS_TOKEN_TYPE
from gateway.keys.store import SIGNING_ALGORITHM, KeyStore


class InvalidAccessToken(Exception):
    """The token is not one this gateway issued for this audience, or no longer valid.

    The message is safe to show the caller: it names the check that failed, never token content.
    """


def issue_access_token(
    keys: KeyStore,
    *,
    issuer: str,
    audience: str,
    client_id: str,
    scope: str,
    lifetime: int,
    now: int | None = None,
) -> str:
    issued_at = int(time.time()) if now is None else now
    key = keys.active()
    claims = {
        "iss": issuer,
        "sub": client_id,
        "client_id": client_id,
        "aud": audience,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + lifetime,
        "jti": secrets.token_urlsafe(16),
        "scope": scope,
    }
    header = {"alg": SIGNING_ALGORITHM, "typ": ACCESS_TOKEN_TYPE, "kid": key.kid}
    return jwt.encode(header, claims, key, algorithms=[SIGNING_ALGORITHM])


class AccessTokens:
    """The gateway's check of access tokens, remembering whose signature it has verified.

    An agency system sends the same token with every call for the token's lifetime, and the
    signature is most of the check's cost (~120 µs of ~130). A token seen before is therefore
    not verified again, but its claims are checked anew every time (expiry first), and so is
    its signing key, which may have been retired since. Only tokens that verified are
    remembered, by their exact text; at most ``remember`` of them, the oldest forgotten first.
    """

    def __init__(
        self, keys: KeyStore, *, issuer: str, audience: str, leeway: int, remember: int = 4096
    ):
        self._keys = keys
        self._registry = _claims_registry(issuer, audience, leeway)
        self._remember = remember
        self._verified: dict[str, tuple[str, dict[str, Any]]] = {}  # token -> kid, claims
        self._lock = threading.Lock()

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims if the gateway signed it for this audience and it is valid now
        (else ``InvalidAccessToken``). The caller must not change them."""
        with self._lock:
            known = self._verified.get(token)
        if known is not None and self._keys.find(known[0]) is not None:
            _check_claims(self._registry, known[1])
            return known[1]
        kid, claims = _signed_claims(token, self._keys)
        _check_claims(self._registry, claims)
        with self._lock:
            if len(self._verified) >= self._remember:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = (kid, claims)
        return claims


def _signed_claims(token: str, keys: KeyStore) -> tuple[str, dict[str, Any]]:
    """The signing key's id and the claims, if a key of this gateway signed the token."""
    try:
        header = jws.extract_compact(token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError):
        raise InvalidAccessToken("the token is not a compact JWS") from None
    if header.get("alg") not in ACCESS_TOKEN_ALGORITHMS:
        raise InvalidAccessToken("the token's algorithm is not accepted")
    if str(header.get("typ", "")).lower() not in {ACCESS_TOKEN_TYPE, "application/at+jwt"}:
        raise InvalidAccessToken("the token is not an access token (typ at+jwt)")
    kid = header.get("kid")
    signing_key = keys.find(kid) if isinstance(kid, str) else None
    if signing_key is None:
        raise InvalidAccessToken("the token was not signed by a key of this gateway")
    assert isinstance(kid, str)
    try:
        verified = jwt.decode(
            token,
            signing_key.public_key,
            algorithms=list(ACCESS_TOKEN_ALGORITHMS),
        )
    except JoseError:
        raise InvalidAccessToken("the token's signature does not verify") from None
    return kid, verified.claims


def _claims_registry(issuer: str, audience: str, leeway: int) -> JWTClaimsRegistry:
    return JWTClaimsRegistry(
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        sub={"essential": True},
        client_id={"essential": True},
        jti={"essential": True},
    )


def _check_claims(registry: JWTClaimsRegistry, claims: dict[str, Any]) -> None:
    try:
        registry.validate(claims)
    except JoseError as failed:
        raise InvalidAccessToken(_claim_problem(failed)) from None


def _claim_problem(failed: JoseError) -> str:
    if failed.error == "expired_token":
        return "the token has expired"
    description = failed.description or ""
    if "'iss'" in description:
        return "the token was issued by another issuer"
    if "'aud'" in description:
        return "the token is meant for another audience"
    return "the token's claims are not valid"
