"""The bearer-token guard every protected route uses: each way a token can be wrong is refused."""

from __future__ import annotations

import base64
import json
import time
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey, OKPKey

from gateway.auth.dependencies import Principal, require_scope
from gateway.auth.scopes import Scope
from gateway.auth.tokens import issue_access_token
from gateway.runtime import Runtime
from tests.support import Clients, RegisteredClient, client_assertion, new_ed25519, token_form

TOKEN_ENDPOINT = "http://localhost/oauth/token"


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    from gateway.app import create_app

    app = create_app(runtime=runtime)

    @app.get("/test/audit")
    def audit_only(
        principal: Annotated[Principal, Depends(require_scope(Scope.AUDIT_READ))],
    ) -> dict[str, str]:
        return {"client_id": principal.client_id}

    return app


def get_token(http: TestClient, client: RegisteredClient, scope: str | None = None) -> str:
    form = token_form(client_assertion(client.id, client.key, TOKEN_ENDPOINT), scope=scope)
    response = http.post("/oauth/token", data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def me(http: TestClient, token: str | None, scheme: str = "Bearer"):
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return http.get("/v1/me", headers=headers)


def assert_invalid_token(response) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/invalid-token"
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def gateway_claims(runtime: Runtime, **changes) -> dict:
    """Claims like those of a token the gateway issues to koeln-jobcenter."""
    now = int(time.time())
    return {
        "iss": runtime.settings.issuer,
        "aud": runtime.settings.audience,
        "sub": "koeln-jobcenter",
        "client_id": "koeln-jobcenter",
        "iat": now,
        "exp": now + 300,
        "jti": "forged-token-1",
        "scope": "exchange:query audit:read",
    } | changes


def forge(runtime: Runtime, key, header: dict, **claim_changes) -> str:
    """A token like the gateway's, with changed claims or header, signed by ``key``."""
    claims = gateway_claims(runtime, **claim_changes)
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])


def gateway_key(runtime: Runtime) -> OKPKey:
    return runtime.keys.active()


def test_a_valid_token_identifies_the_agency(http: TestClient, clients: Clients):
    agency = clients.agency()
    response = me(http, get_token(http, agency))
    assert response.status_code == 200
    assert response.json() == {
        "client_id": "koeln-jobcenter",
        "role": "agency",
        "scopes": sorted(
            [
                "consent:read",
                "consent:write",
                "exchange:query",
                "exchange:receive",
                "exchange:send",
                "policy:read",
            ]
        ),
        "agency_kind": "job_centre",
        "municipality": "koeln",
    }


def test_a_token_without_the_scope_gets_403(http: TestClient, clients: Clients):
    agency = clients.agency()
    response = http.get(
        "/test/audit", headers={"Authorization": f"Bearer {get_token(http, agency)}"}
    )
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/insufficient-scope"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_a_token_with_the_scope_passes(http: TestClient, clients: Clients):
    from gateway.agencies.tables import ClientRole

    dpo = clients.other("city-dpo", ClientRole.DPO)
    response = http.get("/test/audit", headers={"Authorization": f"Bearer {get_token(http, dpo)}"})
    assert response.status_code == 200
    assert response.json() == {"client_id": "city-dpo"}


def test_a_narrowed_token_carries_only_what_was_asked(http: TestClient, clients: Clients):
    agency = clients.agency()
    token = get_token(http, agency, scope="consent:read")
    assert me(http, token).json()["scopes"] == ["consent:read"]


def test_no_token_is_refused(http: TestClient):
    assert_invalid_token(me(http, None))


def test_another_scheme_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    assert_invalid_token(me(http, get_token(http, agency), scheme="Basic"))


def test_garbage_is_refused(http: TestClient):
    assert_invalid_token(me(http, "not-a-jwt"))
    assert_invalid_token(me(http, "a.b.c"))


def test_alg_none_is_refused(http: TestClient, runtime: Runtime, clients: Clients):
    clients.agency()

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = gateway_claims(runtime)
    header = {"alg": "none", "typ": "at+jwt", "kid": runtime.keys.active_kid()}
    assert_invalid_token(me(http, f"{b64(header)}.{b64(claims)}."))


def test_hmac_keyed_with_the_gateway_public_key_is_refused(
    http: TestClient, runtime: Runtime, clients: Clients
):
    clients.agency()
    public_x = runtime.keys.public_jwks()["keys"][0]["x"]
    header = {"alg": "HS256", "typ": "at+jwt", "kid": runtime.keys.active_kid()}
    assert_invalid_token(me(http, forge(runtime, OctKey.import_key(public_x), header)))


def test_a_token_signed_by_an_unknown_key_is_refused(
    http: TestClient, runtime: Runtime, clients: Clients
):
    clients.agency()
    stranger = new_ed25519()
    header = {"alg": "Ed25519", "typ": "at+jwt", "kid": stranger.kid}
    assert_invalid_token(me(http, forge(runtime, stranger, header)))


def test_a_stranger_key_claiming_the_gateway_kid_is_refused(
    http: TestClient, runtime: Runtime, clients: Clients
):
    clients.agency()
    header = {"alg": "Ed25519", "typ": "at+jwt", "kid": runtime.keys.active_kid()}
    assert_invalid_token(me(http, forge(runtime, new_ed25519(), header)))


def test_a_token_without_kid_is_refused(http: TestClient, runtime: Runtime, clients: Clients):
    clients.agency()
    header = {"alg": "Ed25519", "typ": "at+jwt"}
    assert_invalid_token(me(http, forge(runtime, gateway_key(runtime), header)))


def test_a_jwt_that_is_not_an_access_token_is_refused(
    http: TestClient, runtime: Runtime, clients: Clients
):
    clients.agency()
    header = {"alg": "Ed25519", "typ": "JWT", "kid": runtime.keys.active_kid()}
    assert_invalid_token(me(http, forge(runtime, gateway_key(runtime), header)))


def test_a_well_forged_token_is_accepted_so_the_refusals_above_mean_something(
    http: TestClient, runtime: Runtime, clients: Clients
):
    clients.agency()
    header = {"alg": "Ed25519", "typ": "at+jwt", "kid": runtime.keys.active_kid()}
    assert me(http, forge(runtime, gateway_key(runtime), header)).status_code == 200


def test_an_expired_token_is_refused(http: TestClient, runtime: Runtime, clients: Clients):
    clients.agency()
    header = {"alg": "Ed25519", "typ": "at+jwt", "kid": runtime.keys.active_kid()}
    past = int(time.time()) - 3600
    response = me(http, forge(runtime, gateway_key(runtime), header, iat=past, exp=past + 300))
    assert_invalid_token(response)
    assert response.json()["detail"] == "the token has expired"


def test_a_token_of_another_issuer_is_refused(http: TestClient, runtime: Runtime, clients: Clients):
    clients.agency()
    header = {"alg": "Ed25519", "typ": "at+jwt", "kid": runtime.keys.active_kid()}
    response = me(
        http, forge(runtime, gateway_key(runtime), header, iss="https://elsewhere.example")
    )
    assert_invalid_token(response)
    assert response.json()["detail"] == "the token was issued by another issuer"


def test_a_token_for_another_audience_is_refused(
    http: TestClient, runtime: Runtime, clients: Clients
):
    clients.agency()
    header = {"alg": "Ed25519", "typ": "at+jwt", "kid": runtime.keys.active_kid()}
    response = me(http, forge(runtime, gateway_key(runtime), header, aud="koeln-sozialamt"))
    assert_invalid_token(response)
    assert response.json()["detail"] == "the token is meant for another audience"


def test_a_disabled_agency_token_stops_working_at_once(http: TestClient, clients: Clients):
    agency = clients.agency()
    token = get_token(http, agency)
    assert me(http, token).status_code == 200
    clients.disable(agency.id)
    assert_invalid_token(me(http, token))


def test_a_demo_client_token_is_refused_outside_demo_mode(
    http: TestClient, runtime: Runtime, clients: Clients
):
    agency = clients.agency(demo=True)
    token = issue_access_token(
        runtime.keys,
        issuer=runtime.settings.issuer,
        audience=runtime.settings.audience,
        client_id=agency.id,
        scope="exchange:query",
        lifetime=300,
    )
    assert_invalid_token(me(http, token))


def test_tokens_signed_before_a_rotation_stay_valid(
    http: TestClient, runtime: Runtime, clients: Clients
):
    agency = clients.agency()
    old_kid = runtime.keys.active_kid()
    old_token = get_token(http, agency)
    runtime.keys.rotate()

    new_token = get_token(http, agency)
    assert me(http, old_token).status_code == 200
    assert me(http, new_token).status_code == 200
    from joserfc import jws

    assert jws.extract_compact(new_token.encode()).headers()["kid"] != old_kid
    published = {key["kid"] for key in http.get("/.well-known/jwks.json").json()["keys"]}
    assert published == {old_kid, runtime.keys.active_kid()}


def test_a_token_of_a_key_retired_past_its_grace_is_refused(
    http: TestClient, runtime: Runtime, clients: Clients
):
    from datetime import UTC, datetime, timedelta

    agency = clients.agency()
    old_token = get_token(http, agency)
    # Retired so long ago that every token the key signed has expired.
    runtime.keys.rotate(now=datetime.now(UTC) - timedelta(hours=1))
    runtime.keys.rotate()
    assert_invalid_token(me(http, old_token))
