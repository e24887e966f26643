"""Logs are JSON lines that carry identifiers of requests and clients, never secrets or data."""

from __future__ import annotations

import io
import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.runtime import Runtime
from tests.support import Clients, client_assertion, token_form

PERSONAL = "Ayşe Yılmaz AZ-2026-0042"


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    app = create_app(runtime=runtime)

    @app.get("/test/crash")
    def crash() -> None:
        raise ValueError(PERSONAL)

    return app


def parsed(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_requests_are_logged_as_json_with_route_templates(
    http: TestClient, clients: Clients, log_lines: io.StringIO
):
    agency = clients.agency()
    form = token_form(client_assertion(agency.id, agency.key, "http://localhost/oauth/token"))
    token = http.post("/oauth/token", data=form).json()["access_token"]
    http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    http.get("/problems/not-found", params={"subject_ref": PERSONAL})

    entries = parsed(log_lines)
    access = [e for e in entries if e["logger"] == "gateway.access"]
    assert [e["route"] for e in access] == ["/oauth/token", "/v1/me", "/problems/{slug}"]
    assert access[1]["client_id"] == agency.id
    assert all(e["request_id"] and e["status"] and "duration_ms" in e for e in access)
    text = log_lines.getvalue()
    assert token not in text
    assert form["client_assertion"] not in text
    assert "subject_ref" not in text
    assert "AZ-2026-0042" not in text


def test_secrets_never_reach_the_log(http: TestClient, clients: Clients, log_lines: io.StringIO):
    agency = clients.secret_agency()
    http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(agency.id, agency.secret)
    )
    http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(agency.id, "x" * 40))
    assert agency.secret not in log_lines.getvalue()
    assert "x" * 40 not in log_lines.getvalue()


def test_an_unexpected_error_is_logged_without_its_message(
    http: TestClient, log_lines: io.StringIO
):
    response = http.get("/test/crash")
    errors = [e for e in parsed(log_lines) if e["level"] == "error"]
    assert response.status_code == 500
    assert len(errors) == 1
    assert errors[0]["error"] == "ValueError"
    assert errors[0]["request_id"] == response.headers["x-request-id"]
    assert any("crash" in location for location in errors[0]["traceback"])
    assert "Ayşe" not in log_lines.getvalue()
    assert "AZ-2026-0042" not in log_lines.getvalue()


def test_each_request_line_carries_its_trace_id(http: TestClient, log_lines: io.StringIO):
    """The caller's W3C trace id when it sent one, so a support desk finds its call; a trace
    the gateway started otherwise (the one its provider call and audit entries carry)."""
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    http.get("/healthz", headers={"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"})
    http.get("/healthz")
    http.get("/test/crash", headers={"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"})
    entries = parsed(log_lines)
    access = [e["trace_id"] for e in entries if e["logger"] == "gateway.access"]
    assert access[0] == trace_id
    assert access[1] != trace_id
    assert len(access[1]) == 32
    assert access[2] == trace_id
    assert [e["trace_id"] for e in entries if e["level"] == "error"] == [trace_id]
