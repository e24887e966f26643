"""The split guard of the busiest routes (``admit``): the token is checked before the route runs,
the client inside the service's first transaction. It refuses exactly what ``require_scope``
refuses, and a refused caller leaves nothing behind: no audit entry, no exchange, no provider
call."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from consent.vocabulary import AgencyKind
from gateway.audit.tables import AuditEntry
from gateway.auth.tokens import issue_access_token
from gateway.release.tables import Release
from gateway.runtime import Runtime
from tests.auth.test_bearer import assert_invalid_token, forge, gateway_key, get_token
from tests.support import Clients

ABH, JC = "koeln-auslaenderbehoerde", "koeln-jobcenter"
QUESTION = {
    "provider": ABH,
    "subject_ref": "JC-4711",
    "categories": ["residence_status"],
    "purpose": "labour_market_integration",
}


def ask(http: TestClient, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return http.post("/v1/exchanges", json=QUESTION, headers=headers)


def left_behind(runtime: Runtime) -> tuple[int, int]:
    with runtime.database.transaction(read_only=True) as session:
        entries = session.scalar(select(func.count()).select_from(AuditEntry))
        exchanges = session.scalar(select(func.count()).select_from(Release))
    return entries or 0, exchanges or 0


@pytest.fixture
def agencies(clients: Clients) -> None:
    clients.agency(ABH, AgencyKind.FOREIGNERS_OFFICE)
    clients.agency(JC, AgencyKind.JOB_CENTRE)


def _no_token(http: TestClient, runtime: Runtime, clients: Clients) -> str | None:
    return None


def _garbage(http: TestClient, runtime: Runtime, clients: Clients) -> str | None:
    return "not-a-token"


def _expired(http: TestClient, runtime: Runtime, clients: Clients) -> str | None:
    header = {"alg": "Ed25519", "typ": "at+jwt", "kid": runtime.keys.active_kid()}
    return forge(runtime, gateway_key(runtime), header, exp=1_000_000, iat=999_000)


def _disabled(http: TestClient, runtime: Runtime, clients: Clients) -> str | None:
    token = get_token(http, clients.registered[JC])
    clients.disable(JC)
    return token


def _unknown_client(http: TestClient, runtime: Runtime, clients: Clients) -> str | None:
    header = {"alg": "Ed25519", "typ": "at+jwt", "kid": runtime.keys.active_kid()}
    return forge(
        runtime, gateway_key(runtime), header, client_id="koeln-nobody", sub="koeln-nobody"
    )


def _demo_client(http: TestClient, runtime: Runtime, clients: Clients) -> str | None:
    clients.agency("demo-jobcenter", AgencyKind.JOB_CENTRE, demo=True)
    return issue_access_token(
        runtime.keys,
        issuer=runtime.settings.issuer,
        audience=runtime.settings.audience,
        client_id="demo-jobcenter",
        scope="exchange:query",
        lifetime=300,
    )


@pytest.mark.usefixtures("agencies")
@pytest.mark.parametrize(
    "token_of", [_no_token, _garbage, _expired, _disabled, _unknown_client, _demo_client]
)
def test_an_invalid_caller_is_refused_and_leaves_nothing(
    http: TestClient,
    runtime: Runtime,
    clients: Clients,
    token_of: Callable[[TestClient, Runtime, Clients], str | None],
):
    token = token_of(http, runtime, clients)
    before = left_behind(runtime)
    response = ask(http, token)
    assert_invalid_token(response)
    assert left_behind(runtime) == before


@pytest.mark.usefixtures("agencies")
def test_a_token_without_the_query_scope_gets_403_and_leaves_nothing(
    http: TestClient, runtime: Runtime, clients: Clients
):
    token = get_token(http, clients.registered[JC], scope="consent:read")
    before = left_behind(runtime)
    response = ask(http, token)
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/insufficient-scope"
    assert left_behind(runtime) == before


@pytest.mark.usefixtures("agencies")
def test_a_valid_caller_passes_the_guard(http: TestClient, clients: Clients):
    """So that the refusals above mean something: the same request with a good token gets as
    far as the decision (the person is unknown to the gateway, so it is refused there)."""
    response = ask(http, get_token(http, clients.registered[JC]))
    assert response.status_code == 403
    assert response.json()["reason"] == "unknown_subject"
