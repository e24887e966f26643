"""Access tokens for an agency system: ``private_key_jwt`` with authlib, refreshed before expiry."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc.jwk import ECKey, OKPKey, import_key

_ALGORITHM_OF = {"OKP": "Ed25519", "EC": "ES256"}


@dataclass(frozen=True)
class AgencyKey:
    """An agency's private signing key (a private JWK with a ``kid``)."""

    client_id: str
    key: OKPKey | ECKey

    @property
    def kid(self) -> str:
        """The key's id; for a key without one, its RFC 7638 thumbprint, as the gateway uses."""
        return self.key.kid or self.key.thumbprint()

    @property
    def algorithm(self) -> str:
        return _ALGORITHM_OF[self.key.key_type]

    @classmethod
    def from_jwk_file(cls, client_id: str, path: Path) -> AgencyKey:
        return cls.from_jwk(client_id, json.loads(path.read_text()))

    @classmethod
    def from_jwk(cls, client_id: str, jwk: dict[str, Any]) -> AgencyKey:
        key = import_key(jwk)
        if not isinstance(key, (OKPKey, ECKey)) or not key.is_private:
            raise ValueError("an agency key is a private OKP (Ed25519) or EC (P-256) JWK")
        return cls(client_id, key)


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
    """authlib's ``private_key_jwt`` with assertions that live one minute, not authlib's hour:
    the gateway takes an hour by default, but a deployment may allow less, and an assertion
    has no use beyond the one token request."""

    lifetime = 60

    def sign(self, auth: Any, token_endpoint: str) -> str:
        return str(
            private_key_jwt_sign(
                auth.client_secret,
                client_id=auth.client_id,
                token_endpoint=token_endpoint,
                header=self.headers,
                alg=self.alg,
                expires_in=self.lifetime,
            )
        )


def signed_assertion(
    client_id: str, key_file: str | Path, token_endpoint: str, lifetime: int = 60
) -> str:
    """A client assertion (RFC 7523) for one token request made by hand, with curl say: signed
    with the client's private JWK file, ``aud`` the token endpoint, single-use."""
    key = AgencyKey.from_jwk_file(client_id, Path(key_file))
    return str(
        private_key_jwt_sign(
            key.key,
            client_id=client_id,
            token_endpoint=token_endpoint,
            header={"kid": key.kid},
            alg=key.algorithm,
            expires_in=lifetime,
        )
    )


class TokenSource:
    """Hands out a valid access token, fetching a new one shortly before the old one expires."""

    def __init__(
        self,
        token_endpoint: str,
        agency_key: AgencyKey,
        *,
        scope: str | None = None,
        refresh_margin: int = 30,
        timeout: float = 10.0,
    ):
        self._token_endpoint = token_endpoint
        self._scope = scope
        self._lock = threading.Lock()
        self._client = OAuth2Client(
            client_id=agency_key.client_id,
            client_secret=agency_key.key,
            token_endpoint=token_endpoint,
            token_endpoint_auth_method=ShortLivedPrivateKeyJWT(
                token_endpoint, headers={"kid": agency_key.kid}, alg=agency_key.algorithm
            ),
            scope=scope,
            leeway=refresh_margin,
            timeout=timeout,
        )

    def token(self) -> str:
        with self._lock:
            current = self._client.token
            if current is None or current.is_expired(leeway=self._client.leeway):
                self._client.fetch_token(self._token_endpoint, grant_type="client_credentials")
            return str(self._client.token["access_token"])

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> TokenSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
