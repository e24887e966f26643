"""Client credentials as the registry accepts and keeps them: public JWK sets and secret hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, import_key

# Signature keys an agency may register, matching the assertion algorithms the token endpoint
# accepts (Ed25519 as "EdDSA"/"Ed25519", P-256 as "ES256"). Symmetric and RSA keys are refused.
_ACCEPTED_CURVES = {"OKP": "Ed25519", "EC": "P-256"}
_ALGORITHMS_OF = {"OKP": {"Ed25519", "EdDSA"}, "EC": {"ES256"}}
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}
MAX_KEYS = 10  # enough for rotation overlaps; each key costs a verification attempt

SECRET_PREFIX = "gws_"  # noqa: S105 (a prefix, not a secret: makes leaked secrets recognisable)
MIN_SECRET_LENGTH = 32

# scrypt parameters: memory-hard (16 MiB), so a stolen database does not give away weak secrets.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class CredentialError(ValueError):
    """A credential the registry will not keep; the message says why, without echoing it."""


def parse_public_jwks(text: str) -> dict[str, list[dict[str, Any]]]:
    """Validate a client's public JWK set and return it normalised, every key with a ``kid``."""
    try:
        document = json.loads(text)
    except ValueError as bad:
        raise CredentialError("the JWK set is not valid JSON") from bad
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise CredentialError('a JWK set is a JSON object with a "keys" list')
    if not document["keys"]:
        raise CredentialError("the JWK set holds no key")
    if len(document["keys"]) > MAX_KEYS:
        raise CredentialError(f"the JWK set holds more than {MAX_KEYS} keys")
    keys = []
    kids: set[str] = set()
    for position, member in enumerate(document["keys"]):
        key = _public_key(member, position)
        if key["kid"] in kids:
            raise CredentialError(f"key {position}: kid {key['kid']!r} appears twice")
        kids.add(key["kid"])
        keys.append(key)
    return {"keys": keys}


def _public_key(member: object, position: int) -> dict[str, Any]:
    if not isinstance(member, dict):
        raise CredentialError(f"key {position} is not a JSON object")
    kty = member.get("kty")
    if kty not in _ACCEPTED_CURVES:
        raise CredentialError(
            f"key {position}: key type {kty!r} is not accepted (use OKP Ed25519 or EC P-256)"
        )
    if member.get("crv") != _ACCEPTED_CURVES[kty]:
        raise CredentialError(f"key {position}: {kty} keys must use curve {_ACCEPTED_CURVES[kty]}")
    if _PRIVATE_MEMBERS & member.keys():
        raise CredentialError(
            f"key {position} contains private key material; register public keys only"
        )
    if member.get("use", "sig") != "sig":
        raise CredentialError(f"key {position}: use must be 'sig'")
    if "alg" in member and member["alg"] not in _ALGORITHMS_OF[kty]:
        allowed = " or ".join(sorted(_ALGORITHMS_OF[kty]))
        raise CredentialError(f"key {position}: alg must be {allowed} for this key")
    if "key_ops" in member and (
        not isinstance(member["key_ops"], list) or set(member["key_ops"]) != {"verify"}
    ):
        raise CredentialError(f"key {position}: key_ops of a public signature key is ['verify']")
    if "kid" in member and (not isinstance(member["kid"], str) or not member["kid"].strip()):
        raise CredentialError(f"key {position}: kid must be a non-empty string")
    try:
        key = import_key(member)
    except (JoseError, ValueError, TypeError) as bad:
        raise CredentialError(f"key {position} is not a valid {kty} key") from bad
    assert isinstance(key, (OKPKey, ECKey))
    public = key.as_dict(private=False)
    public["kid"] = member.get("kid") or key.thumbprint()
    # Checked above; not kept, because joserfc would then pick the key only for that one name
    # of the algorithm, and Ed25519 has two (EdDSA, and RFC 9864's Ed25519).
    public.pop("alg", None)
    return public


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    if len(secret) < MIN_SECRET_LENGTH:
        raise CredentialError(f"a client secret must be at least {MIN_SECRET_LENGTH} characters")
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return "$".join(
        ["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)]
    )


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    try:
        candidate = _scrypt(secret, _unb64(salt), int(n), int(r), int(p))
        expected = _unb64(digest)
    except ValueError:  # a damaged hash (bad number, base64 or scrypt parameters) matches nothing
        return False
    return hmac.compare_digest(candidate, expected)


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=64 * 2**20)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key_pair(curve: str = "Ed25519") -> tuple[str, str]:
    """A new signing key for a client: its private JWK (with a ``kid``, the RFC 7638
    thumbprint) and its public JWK set as ``agency add --jwks`` takes it, both as JSON."""
    key: OKPKey | ECKey = (
        OKPKey.generate_key("Ed25519", auto_kid=True)
        if curve == "Ed25519"
        else ECKey.generate_key("P-256", auto_kid=True)
    )
    public = parse_public_jwks(json.dumps({"keys": [key.as_dict(private=False)]}))
    return json.dumps(key.as_dict(private=True), indent=2), json.dumps(public, indent=2)
