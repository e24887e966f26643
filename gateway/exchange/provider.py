"""Calling a provider agency's system: ``POST {provider_url}/gateway/v1/fetch``."""

from __future__ import annotations

from typing import Any

import httpx


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
