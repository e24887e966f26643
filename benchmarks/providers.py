"""Processes for the exchange benchmark: a reference provider, and a bare pass-through that makes
the same provider call without any of the gateway's checks (and relays messages the same way).

    python -m benchmarks.providers provider PORT ISSUER JWKS_URL PERSONS
    python -m benchmarks.providers passthrough PORT PROVIDER_URL TOKEN
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from joserfc.jwk import KeySet

from gateway.demo.cases import CASES, REFERENCES
from gateway.exchange.provider import ProviderCalls
from gateway.observability.tracing import Trace
from gateway.simulator.app import provider_app

ABH, JC = "koeln-auslaenderbehoerde", "koeln-jobcenter"


def person_references(number: int) -> dict[str, str]:
    """The job centre's and the foreigners' office's references of the benchmark's person
    ``number``: all have the demo family's father's residence status on file."""
    return {JC: f"JC-BENCH-{number:06d}", ABH: f"ABH-BENCH-{number:06d}"}


def provider(port: int, issuer: str, jwks_url: str, persons: str) -> None:
    keys = KeySet.import_key_set(httpx.get(jwks_url).json())
    case = CASES[ABH][REFERENCES[ABH]]
    cases = {person_references(number)[ABH]: case for number in range(int(persons))}
    app = provider_app(ABH, issuer, lambda: keys, cases)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def passthrough(port: int, provider_url: str, token: str) -> None:
    """The same provider call as the gateway's (``ProviderCalls``: an aiohttp session, in the
    event loop of the same framework), with nothing around it; and a bare message relay on the
    gateway's message routes: a message held in memory until it is acknowledged, no checks."""
    app = FastAPI()
    calls = ProviderCalls(max_answer_bytes=1 << 20)
    held: dict[str, dict[str, Any]] = {}

    @app.post("/query")
    async def query(body: dict[str, Any]) -> dict[str, Any]:
        return await calls.fetch(provider_url, token, body, 5, Trace.start().outgoing())

    @app.post("/v1/messages", status_code=202)
    async def send(body: dict[str, Any]) -> dict[str, str]:
        message_id = str(uuid.uuid4())
        held[message_id] = body
        return {"message_id": message_id}

    @app.get("/v1/messages/{message_id}")
    async def fetch(message_id: str) -> dict[str, Any]:
        return {"message_id": message_id, **held[message_id]}

    @app.post("/v1/messages/{message_id}/ack")
    async def acknowledge(message_id: str) -> dict[str, str]:
        del held[message_id]
        return {"message_id": message_id, "state": "acknowledged"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    kind, port, *rest = sys.argv[1:]
    (provider if kind == "provider" else passthrough)(int(port), *rest)
