"""Calling a provider agency's system: ``POST {provider_url}/gateway/v1/fetch``."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from gateway.auth.tokens import issue_access_token
from gateway.keys.store import KeyStore

PROVIDER_TOKEN_LIFETIME = 60  # seconds


class ProviderFailure(Exception):
    """The provider did not answer usefully; ``reason`` says how (never what it sent)."""

    def __init__(self, reason: str, status: int):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def fetch(
    client: httpx.Client,
    provider_url: str,
    token: str,
    request: dict[str, Any],
    timeout: float,
) -> dict[str, Any]:
    url = provider_url.rstrip("/") + "/gateway/v1/fetch"
    try:
        response = client.post(
            url, json=request, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )
    except httpx.TimeoutException:
        raise ProviderFailure("provider_timeout", 504) from None
    except httpx.TransportError:
        raise ProviderFailure("provider_unreachable", 502) from None
    if response.status_code != 200:
        raise ProviderFailure("provider_invalid_response", 502)
    try:
        answer = response.json()
    except ValueError:
        raise ProviderFailure("provider_invalid_response", 502) from None
    if not isinstance(answer, dict):
        raise ProviderFailure("provider_invalid_response", 502)
    return answer


class ProviderTokens:
    """The gateway's tokens for providers' systems (audience: the provider agency), each
    reused while it has more than half its lifetime left and the signing key is still the
    active one, so a busy provider is not sent a fresh signature per call."""

    def __init__(self, keys: KeyStore, issuer: str, lifetime: int = PROVIDER_TOKEN_LIFETIME):
        self._keys = keys
        self._issuer = issuer
        self._lifetime = lifetime
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, str, float]] = {}  # provider -> token, kid, renew at

    def token(self, provider: str) -> str:
        kid = self._keys.active_kid()
        now = time.time()
        with self._lock:
            cached = self._tokens.get(provider)
            if cached is not None and cached[1] == kid and now < cached[2]:
                return cached[0]
            token = issue_access_token(
                self._keys,
                issuer=self._issuer,
                audience=provider,
                client_id="gateway",
                scope="gateway:fetch",
                lifetime=self._lifetime,
                now=int(now),
            )
            self._tokens[provider] = (token, kid, now + self._lifetime / 2)
            return token
