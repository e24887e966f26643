"""Calling a provider agency's system: ``POST {provider_url}/gateway/v1/fetch``."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import aiohttp

from gateway.auth.tokens import issue_access_token
from gateway.keys.store import KeyStore
from gateway.loops import PerLoop

PROVIDER_TOKEN_LIFETIME = 60  # seconds


class ProviderFailure(Exception):
    """The provider did not answer usefully; ``reason`` says how (never what it sent)."""

    def __init__(self, reason: str, status: int):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class ProviderCalls:
    """Providers' systems as the event loop calls them: a pooled aiohttp session per loop.

    aiohttp, not httpx: a bare pass-through of this call spent 0.40 ms of CPU per request with
    an aiohttp session in the loop, 1.55 ms with httpx's asynchronous client and 1.20 ms with
    its synchronous one on a worker thread (``benchmarks/README.md``).
    """

    def __init__(self, max_answer_bytes: int):
        self._max_answer_bytes = max_answer_bytes
        self._sessions: PerLoop[aiohttp.ClientSession] = PerLoop(_new_session, _close_session)

    async def fetch(
        self,
        provider_url: str,
        token: str,
        request: dict[str, Any],
        timeout: float,
        traceparent: str,
    ) -> dict[str, Any]:
        """The provider's answer to ``request``: a JSON object, not yet checked any further.
        ``traceparent`` continues the caller's trace (``gateway.observability.tracing``)."""
        url = provider_url.rstrip("/") + "/gateway/v1/fetch"
        try:
            async with self._sessions.get().post(
                url,
                json=request,
                headers={"Authorization": f"Bearer {token}", "traceparent": traceparent},
                timeout=aiohttp.ClientTimeout(total=timeout),
                # Our token goes to the address the policy knows, nowhere else.
                allow_redirects=False,
            ) as response:
                if response.status != 200:
                    raise ProviderFailure("provider_invalid_response", 502)
                body = await self._body(response)
        except TimeoutError:
            raise ProviderFailure("provider_timeout", 504) from None
        except aiohttp.ClientError:
            raise ProviderFailure("provider_unreachable", 502) from None
        try:
            answer = json.loads(body)
        except (ValueError, RecursionError):  # nested deeper than the parser goes
            raise ProviderFailure("provider_invalid_response", 502) from None
        if not isinstance(answer, dict):
            raise ProviderFailure("provider_invalid_response", 502)
        return answer

    async def close(self) -> None:
        """Close the running loop's connections (its app is shutting down)."""
        await self._sessions.close()

    async def _body(self, response: aiohttp.ClientResponse) -> bytes:
        """The whole answer, unless it is larger than any answer the gateway would pass on:
        counted as it is read and decompressed (a small compressed answer can unpack to any
        size), refused at once if it says it is larger."""
        limit = self._max_answer_bytes
        if response.content_length is not None and response.content_length > limit:
            raise ProviderFailure("provider_invalid_response", 502)
        chunks, size = [], 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise ProviderFailure("provider_invalid_response", 502)
            chunks.append(chunk)
        return b"".join(chunks)


def _new_session() -> aiohttp.ClientSession:
    # Straight to the provider URL the agency registered, never through a proxy named in the
    # environment (HTTP(S)_PROXY): trust_env stays off, which also saves looking the proxy
    # settings up at every call (a third of a millisecond).
    return aiohttp.ClientSession(trust_env=False)


async def _close_session(session: aiohttp.ClientSession) -> None:
    await session.close()


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
