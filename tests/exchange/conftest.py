"""The exchange tests' world: a live gateway and the foreigners' office's system behind it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.responses import RedirectResponse
from joserfc.jwk import KeySet
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.agencies.tables import Agency
from gateway.simulator.app import provider_app
from tests.exchange.world import ABH, RESIDENCE, World
from tests.support import serve_app, start_live_server


@pytest.fixture
def provider_timeout() -> float:
    """How long the gateway waits for the provider: short, for the slow provider's test; a
    module whose providers must never time out (on a loaded machine) asks for longer."""
    return 1.0


@pytest.fixture
def gateway_settings() -> dict[str, Any]:
    """More settings for the world's gateway; a module that needs some overrides this."""
    return {}


@pytest.fixture
def world(
    database_url: str, tmp_path: Path, provider_timeout: float, gateway_settings: dict[str, Any]
) -> Iterator[World]:
    cases: dict[str, Any] = {"ABH-0815": {"residence_status": dict(RESIDENCE)}}
    with start_live_server(
        database_url, tmp_path / "gateway", provider_timeout=provider_timeout, **gateway_settings
    ) as gateway:
        jwks_url = f"{gateway.url}/.well-known/jwks.json"

        def gateway_keys() -> KeySet:
            return KeySet.import_key_set(httpx.get(jwks_url).json())

        app = provider_app(ABH, gateway.runtime.settings.issuer, gateway_keys, cases)

        @app.post("/broken/gateway/v1/fetch")
        def broken() -> dict[str, Any]:
            raise RuntimeError("the provider's system fails")

        @app.post("/slow/gateway/v1/fetch")
        def slow() -> dict[str, Any]:
            time.sleep(3)
            return {}

        @app.post("/moved/gateway/v1/fetch")
        def moved() -> RedirectResponse:
            # Where the real answer is: a gateway that followed would get released fields.
            return RedirectResponse(f"{provider_url}/gateway/v1/fetch", status_code=307)

        built = World(gateway, cases)
        with serve_app(_Recording(app, built.provider_requests)) as provider_url:
            with gateway.runtime.database.transaction() as session:
                session.get(Agency, ABH).provider_url = provider_url
            yield built


class _Recording:
    """An ASGI app's requests' headers, kept as they arrive."""

    def __init__(self, app: ASGIApp, into: list[dict[str, str]]):
        self.app = app
        self.into = into

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.into.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)
