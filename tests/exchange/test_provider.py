"""The provider call itself (``ProviderCalls``), against a real HTTP server: what comes back is
a JSON object or a ``ProviderFailure`` that says how the provider failed, never what it sent."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from gateway.exchange.provider import ProviderCalls, ProviderFailure
from gateway.observability.tracing import Trace
from tests.support import run_in_new_loop, serve_app

LIMIT = 4096
ANSWER = {"residence_status": {"title": "toleration", "note": "x" * 1000}}
BIG = json.dumps({"residence_status": {"title": "toleration", "note": "x" * 2 * LIMIT}})


ASKED: list[dict[str, Any]] = []


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    app = FastAPI()

    @app.post("/ok/gateway/v1/fetch")
    async def ok(request: Request) -> dict[str, Any]:
        ASKED.append({"body": await request.json(), "auth": request.headers["authorization"]})
        return ANSWER

    @app.post("/big/gateway/v1/fetch")
    def big() -> Response:
        return Response(BIG, media_type="application/json")

    @app.post("/big-streamed/gateway/v1/fetch")
    def big_streamed() -> StreamingResponse:
        # No Content-Length: the size shows only while the answer is read.
        return StreamingResponse(iter([BIG[:LIMIT], BIG[LIMIT:]]), media_type="application/json")

    @app.post("/zipped/gateway/v1/fetch")
    def zipped() -> Response:
        # Small on the wire, large once unpacked.
        return Response(
            gzip.compress(BIG.encode()),
            media_type="application/json",
            headers={"Content-Encoding": "gzip"},
        )

    @app.post("/list/gateway/v1/fetch")
    def a_list() -> list[int]:
        return [1, 2]

    @app.post("/text/gateway/v1/fetch")
    def text() -> Response:
        return Response("not json", media_type="application/json")

    @app.post("/moved/gateway/v1/fetch")
    def moved() -> RedirectResponse:
        return RedirectResponse("/ok/gateway/v1/fetch", status_code=307)

    with serve_app(app) as url:
        yield url


def _fetch(url: str, limit: int = LIMIT) -> dict[str, Any]:
    async def fetch() -> dict[str, Any]:
        calls = ProviderCalls(max_answer_bytes=limit)
        try:
            request = {"exchange_id": "e-1"}
            return await calls.fetch(url, "a-token", request, 5, Trace.start().outgoing())
        finally:
            await calls.close()

    return run_in_new_loop(fetch)


def test_the_request_goes_with_the_token_and_the_answer_comes_back(provider: str):
    assert _fetch(f"{provider}/ok/") == ANSWER
    assert ASKED[-1] == {"body": {"exchange_id": "e-1"}, "auth": "Bearer a-token"}


@pytest.mark.parametrize("path", ["big", "big-streamed", "zipped"])
def test_an_answer_over_the_limit_is_refused(provider: str, path: str):
    with pytest.raises(ProviderFailure) as failure:
        _fetch(f"{provider}/{path}")
    assert (failure.value.reason, failure.value.status) == ("provider_invalid_response", 502)
    assert _fetch(f"{provider}/{path}", limit=4 * LIMIT)  # within a larger limit, it is read


@pytest.mark.parametrize("path", ["list", "text", "moved", "nowhere"])
def test_anything_but_a_json_object_with_200_is_an_invalid_response(provider: str, path: str):
    with pytest.raises(ProviderFailure) as failure:
        _fetch(f"{provider}/{path}")
    assert failure.value.reason == "provider_invalid_response"
    assert "x" * 10 not in str(failure.value)
