"""Every error is RFC 9457 problem+json with a stable type; every response has an X-Request-Id."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from gateway.app import create_app
from gateway.runtime import Runtime

PROBLEM = "application/problem+json"


class Echo(BaseModel):
    name: str
    count: int


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    app = create_app(runtime=runtime)

    @app.post("/test/echo")
    def echo(body: Echo) -> Echo:
        return body

    @app.get("/test/crash")
    def crash() -> None:
        raise RuntimeError("Ayşe Yılmaz, file AZ-2026-0042")  # personal data in a message

    return app


def assert_problem(response, status: int, problem_type: str) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == problem_type
    assert body["status"] == status
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_unknown_path_is_a_404_problem(http: TestClient):
    assert_problem(http.get("/v1/nothing-here"), 404, "/problems/not-found")


def test_wrong_method_is_a_405_problem(http: TestClient):
    assert_problem(http.delete("/healthz"), 405, "/problems/method-not-allowed")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/consents", {"GET", "POST"}),  # two routes on one path
        ("DELETE", "/v1/messages", {"GET", "POST"}),
        ("GET", "/v1/exchanges", {"POST"}),
        ("DELETE", "/healthz", {"GET"}),
    ],
)
def test_a_405_names_every_method_the_path_takes(http: TestClient, method, path, allowed):
    response = http.request(method, path)
    assert_problem(response, 405, "/problems/method-not-allowed")
    assert set(response.headers["allow"].split(", ")) == allowed


def test_invalid_body_is_a_422_problem_listing_each_error_without_the_input(http: TestClient):
    response = http.post("/test/echo", json={"name": ["Ayşe"], "count": "many"})
    body = assert_problem(response, 422, "/problems/invalid-request")
    assert {error["path"] for error in body["errors"]} == {"/body/name", "/body/count"}
    assert all(error["message"] for error in body["errors"])
    assert "Ayşe" not in response.text
    assert "many" not in response.text


def test_malformed_json_is_a_422_problem(http: TestClient):
    response = http.post(
        "/test/echo", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "/problems/invalid-request")


def test_oversized_body_by_content_length_is_a_413_problem(http: TestClient, runtime: Runtime):
    limit = runtime.settings.max_body_bytes
    response = http.post(
        "/test/echo", content=b"x" * (limit + 1), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "/problems/payload-too-large")


def test_oversized_chunked_body_is_a_413_problem(http: TestClient, runtime: Runtime):
    limit = runtime.settings.max_body_bytes

    def chunks():
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    response = http.post(
        "/test/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "/problems/payload-too-large")


def test_oversized_token_request_is_a_413_problem(http: TestClient, runtime: Runtime):
    response = http.post(
        "/oauth/token",
        content=b"a=" + b"x" * runtime.settings.max_body_bytes,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 413, "/problems/payload-too-large")


def test_a_body_within_the_limit_passes(http: TestClient):
    response = http.post("/test/echo", json={"name": "x" * 1000, "count": 1})
    assert response.status_code == 200


def test_an_unexpected_failure_is_a_500_problem_that_reveals_nothing(
    http: TestClient, caplog: pytest.LogCaptureFixture
):
    response = http.get("/test/crash")
    assert_problem(response, 500, "/problems/internal-error")
    assert "Ayşe" not in response.text
    assert "RuntimeError" not in response.text


def test_each_response_gets_a_fresh_request_id(http: TestClient):
    first = http.get("/healthz").headers["x-request-id"]
    second = http.get("/healthz").headers["x-request-id"]
    assert first != second
    assert len(first) >= 32


def test_an_incoming_uuid_request_id_is_kept(http: TestClient):
    chosen = "5d0c6b1e-2f4a-4c8e-9b7d-3a1f0e6c2b9d"
    response = http.get("/v1/nothing", headers={"X-Request-Id": chosen})
    assert response.headers["x-request-id"] == chosen
    assert response.json()["request_id"] == chosen


@pytest.mark.parametrize(
    "unsafe",
    [
        "short",
        "x" * 200,
        "has spaces in it",
        "a<script>b-1234",
        "agency-trace-0001",  # free-form ids can be built from a file reference
        "JC-4711-0001",
        "5d0c6b1e-2f4a-4c8e-9b7d-3a1f0e6c2b9d-JC-4711",
    ],
)
def test_an_unsafe_incoming_request_id_is_replaced(http: TestClient, unsafe: str):
    response = http.get("/healthz", headers={"X-Request-Id": unsafe})
    assert response.headers["x-request-id"] != unsafe


def test_problem_types_are_documented_by_the_gateway(http: TestClient):
    response = http.get("/problems/payload-too-large")
    assert response.status_code == 200
    assert response.json()["status"] == 413
    assert_problem(http.get("/problems/no-such-thing"), 404, "/problems/not-found")
