"""Liveness, readiness and metrics, as an operator's monitoring sees them."""

from __future__ import annotations

import dataclasses
import errno
import shutil

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from gateway.app import create_app
from gateway.db.engine import READ_ONLY
from gateway.db.inloop import InLoop
from gateway.runtime import Runtime
from tests.support import Clients, client_assertion, token_form


def test_healthz_answers(http: TestClient):
    assert http.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_database_and_keys(http: TestClient):
    assert http.get("/readyz").json() == {
        "status": "ready",
        "database": "ok",
        "keys": "ok",
        "witnesses": "none",  # none configured
        "witness_detail": {},
        "emergency_reviews": {"open": 0, "overdue": 0},
    }


def _with_routes_engine(runtime: Runtime, engine: Engine) -> Runtime:
    """The runtime, its routes' connections (not the event loop's) made by ``engine``."""
    database = dataclasses.replace(
        runtime.database,
        engine=engine,
        sessions=sessionmaker(engine),
        read_sessions=sessionmaker(engine.execution_options(**{READ_ONLY: True})),
    )
    return dataclasses.replace(runtime, database=database)


def _readyz(runtime: Runtime) -> Response:
    with TestClient(create_app(runtime=runtime), base_url="http://localhost") as client:
        return client.get("/readyz")


def test_readyz_is_503_when_the_database_is_unreachable(runtime: Runtime):
    unreachable = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = _readyz(_with_routes_engine(runtime, unreachable))
    unreachable.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "database" in response.json()["detail"]


def test_readyz_is_503_when_the_routes_connections_only_read(runtime: Runtime):
    """A database that answers but takes no writes (a read-only file, a server in read-only
    mode) cannot serve: every change and every audit entry would fail."""
    url = make_url(runtime.settings.database_url)
    if url.get_backend_name() == "sqlite":
        reading = create_engine(f"sqlite:///file:{url.database}?mode=ro&uri=true")
    else:
        options = {"options": "-c default_transaction_read_only=on"}
        reading = create_engine(url.set(drivername="postgresql+psycopg"), connect_args=options)
    response = _readyz(_with_routes_engine(runtime, reading))
    reading.dispose()
    assert response.status_code == 503
    assert "database" in response.json()["detail"]


def test_the_readiness_write_holds_the_write_lock_for_its_one_statement(
    http: TestClient, runtime: Runtime
):
    """On SQLite a writing transaction holds the one write lock every exchange waits for."""
    steps: list[str] = []
    engine = runtime.database.engine
    event.listen(engine, "begin", lambda _connection: steps.append("BEGIN"))
    event.listen(engine, "commit", lambda _connection: steps.append("COMMIT"))
    event.listen(
        engine,
        "before_cursor_execute",
        lambda _c, _cursor, statement, *_: steps.append(statement.split()[0].upper()),
    )

    assert http.get("/readyz").status_code == 200

    # The probe's transaction is its one statement (SQLite's BEGIN IMMEDIATE, a statement,
    # comes just before the transaction's own "begin"); readyz's reads come after it.
    (insert,) = [i for i, step in enumerate(steps) if step == "INSERT"]
    assert steps[insert - 1 : insert + 2] == ["BEGIN", "INSERT", "COMMIT"], steps


class _Unreachable:
    """The exchange path's connections, failing as a refused connection does."""

    async def run(self, work, *, read_only):  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError("connect call failed")

    async def close(self) -> None:
        pass

    def dispose(self) -> None:
        pass


class _WritesFail:
    """The exchange path's connections, reading but failing every write."""

    def __init__(self, real: InLoop):
        self._real = real

    async def run(self, work, *, read_only):  # type: ignore[no-untyped-def]
        if read_only:
            return await self._real.run(work, read_only=True)
        raise OSError(errno.EROFS, "read-only file system")

    async def close(self) -> None:
        await self._real.close()

    def dispose(self) -> None:
        self._real.dispose()


def test_readyz_is_503_when_the_exchange_paths_writes_fail(runtime: Runtime):
    in_loop = _WritesFail(runtime.database.in_loop)
    broken = dataclasses.replace(
        runtime, database=dataclasses.replace(runtime.database, in_loop=in_loop)
    )
    response = _readyz(broken)
    assert response.status_code == 503
    assert "database" in response.json()["detail"]


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


def test_the_database_unavailable_answer_is_documented(http: TestClient):
    paths = http.get("/openapi.json").json()["paths"]
    for path, method in (("/v1/exchanges", "post"), ("/v1/consents", "post")):
        assert "Database unavailable" in paths[path][method]["responses"]["503"]["description"]
    assert "Database unavailable" not in paths["/readyz"]["get"]["responses"]["503"]["description"]
    documented = http.get("/problems/database-unavailable").json()
    assert (documented["status"], documented["title"]) == (503, "Database unavailable")
