"""Which JOSE algorithms the gateway accepts where: the allow-lists in one place."""

from __future__ import annotations

import warnings

from joserfc.errors import SecurityWarning

from gateway.keys.store import SIGNING_ALGORITHM

# Client assertions (private_key_jwt): Ed25519 under both its names, and ECDSA P-256.
# Never "none", never HMAC (a public key must not double as a shared secret), never RSA.
ASSERTION_ALGORITHMS = ("Ed25519", "EdDSA", "ES256")

# Access tokens are only ever signed by the gateway, with its Ed25519 key.
ACCESS_TOKEN_ALGORITHMS = (SIGNING_ALGORITHM,)

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, RFC 9068 §2.1)

# Older agency libraries know Ed25519 only as RFC 8037's "EdDSA", which RFC 9864 deprecated;
# we accept it deliberately, so joserfc's warning about it is noise here.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
