"""Liveness, readiness and metrics, as an operator's monitoring sees them."""

from __future__ import annotations

import dataclasses
import shutil

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from gateway.app import create_app
from gateway.runtime import Runtime
from tests.support import Clients, client_assertion, token_form


def test_healthz_answers(http: TestClient):
    assert http.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_database_and_keys(http: TestClient):
    assert http.get("/readyz").json() == {"status": "ready", "database": "ok", "keys": "ok"}


def test_readyz_is_503_when_the_database_is_unreachable(runtime: Runtime):
    unreachable = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    broken = dataclasses.replace(
        runtime,
        database=dataclasses.replace(runtime.database, engine=unreachable),
    )
    with TestClient(create_app(runtime=broken), base_url="http://localhost") as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "database" in response.json()["detail"]


class _Unreachable:
    """The exchange path's connections, failing as a refused connection does."""

    async def run(self, work, *, read_only):  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError("connect call failed")

    async def close(self) -> None:
        pass

    def dispose(self) -> None:
        pass


def test_readyz_is_503_when_the_exchange_paths_connections_fail(runtime: Runtime):
    broken = dataclasses.replace(
        runtime, database=dataclasses.replace(runtime.database, in_loop=_Unreachable())
    )
    with TestClient(create_app(runtime=broken), base_url="http://localhost") as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "database" in response.json()["detail"]


def test_readyz_is_503_when_the_keys_are_gone(http: TestClient, runtime: Runtime):
    shutil.rmtree(runtime.settings.key_dir)
    response = http.get("/readyz")
    assert response.status_code == 503
    assert "keys" in response.json()["detail"]


def test_readyz_is_503_when_the_message_keys_are_gone(http: TestClient, runtime: Runtime):
    shutil.rmtree(runtime.settings.key_dir / "messages")
    response = http.get("/readyz")
    assert response.status_code == 503
    assert "keys" in response.json()["detail"]


def test_metrics_count_requests_by_route_template_without_identifiers(
    http: TestClient, clients: Clients
):
    agency = clients.agency()
    form = token_form(client_assertion(agency.id, agency.key, "http://localhost/oauth/token"))
    http.post("/oauth/token", data=form)
    http.get("/problems/payload-too-large")
    http.get("/v1/no/such/AZ-2026-0042")

    text = http.get("/metrics").text

    assert (
        'gateway_http_requests_total{method="POST",route="/oauth/token",status="200"} 1.0' in text
    )
    assert 'route="/problems/{slug}"' in text
    assert 'route="unmatched",status="404"' in text
    assert 'gateway_oauth_tokens_issued_total{method="private_key_jwt"} 1.0' in text
    assert "gateway_http_request_duration_seconds_bucket" in text
    assert "AZ-2026-0042" not in text
    assert "payload-too-large" not in text
    assert agency.id not in text
