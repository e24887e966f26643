"""Access tokens: JWTs per RFC 9068, signed by the gateway's current key, verified strictly."""

from __future__ import annotations

import secrets
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


def verify_access_token(
    token: str, keys: KeyStore, *, issuer: str, audience: str, leeway: int
) -> dict[str, Any]:
    """The token's claims if the gateway signed it for ``audience`` and it is valid now."""
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
    try:
        verified = jwt.decode(
            token,
            signing_key.public_key,
            algorithms=list(ACCESS_TOKEN_ALGORITHMS),
        )
    except JoseError:
        raise InvalidAccessToken("the token's signature does not verify") from None
    registry = JWTClaimsRegistry(
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        sub={"essential": True},
        client_id={"essential": True},
        jti={"essential": True},
    )
    try:
        registry.validate(verified.claims)
    except JoseError as failed:
        raise InvalidAccessToken(_claim_problem(failed)) from None
    return verified.claims


def _claim_problem(failed: JoseError) -> str:
    if failed.error == "expired_token":
        return "the token has expired"
    description = failed.description or ""
    if "'iss'" in description:
        return "the token was issued by another issuer"
    if "'aud'" in description:
        return "the token is meant for another audience"
    return "the token's claims are not valid"
