"""The token endpoint: what it issues, and each way it refuses (RFC 6749 error bodies)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from fastapi.testclient import TestClient
from joserfc import jws, jwt
from joserfc.jwk import OctKey, RSAKey
from sqlalchemy import func, select

from consent.vocabulary import AgencyKind
from gateway.agencies.tables import ClientRole
from gateway.auth.tables import UsedAssertion
from gateway.db.engine import Database
from gateway.settings import Settings
from tests.support import (
    Clients,
    client_assertion,
    new_ed25519,
    new_es256,
    token_form,
)

TOKEN_ENDPOINT = "http://localhost/oauth/token"


def claims_of(token: str) -> dict:
    return json.loads(jws.extract_compact(token.encode()).payload)


def header_of(token: str) -> dict:
    return jws.extract_compact(token.encode()).headers()


def request_token(http: TestClient, form: dict[str, str], **kwargs) -> tuple[int, dict]:
    response = http.post("/oauth/token", data=form, **kwargs)
    assert response.headers["cache-control"] == "no-store"
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("make_key", "alg"),
    [(new_ed25519, "Ed25519"), (new_ed25519, "EdDSA"), (new_es256, "ES256")],
)
def test_private_key_jwt_gets_an_rfc9068_access_token(
    http: TestClient, clients: Clients, settings: Settings, make_key, alg
):
    agency = clients.agency(key=make_key())
    assertion = client_assertion(agency.id, agency.key, TOKEN_ENDPOINT, alg=alg)

    status, body = request_token(http, token_form(assertion))

    assert status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.access_token_lifetime
    header, claims = header_of(body["access_token"]), claims_of(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "Ed25519"
    assert header["kid"] in {k["kid"] for k in http.get("/.well-known/jwks.json").json()["keys"]}
    assert claims["iss"] == settings.issuer
    assert claims["aud"] == settings.audience
    assert claims["sub"] == claims["client_id"] == agency.id
    assert claims["exp"] - claims["iat"] == settings.access_token_lifetime
    assert set(claims["scope"].split()) == {
        "consent:write",
        "consent:read",
        "exchange:query",
        "exchange:send",
        "exchange:receive",
        "policy:read",
    }


def test_the_issuer_is_accepted_as_assertion_audience(http: TestClient, clients: Clients):
    agency = clients.agency()
    assertion = client_assertion(agency.id, agency.key, "http://localhost")
    assert request_token(http, token_form(assertion))[0] == 200


def test_a_requested_subset_of_scopes_is_granted_exactly(http: TestClient, clients: Clients):
    agency = clients.agency()
    assertion = client_assertion(agency.id, agency.key, TOKEN_ENDPOINT)
    status, body = request_token(http, token_form(assertion, scope="exchange:query"))
    assert status == 200
    assert body["scope"] == "exchange:query"
    assert claims_of(body["access_token"])["scope"] == "exchange:query"


def test_client_secret_basic_gets_a_token(http: TestClient, clients: Clients):
    agency = clients.secret_agency()
    status, body = request_token(
        http, {"grant_type": "client_credentials"}, auth=(agency.id, agency.secret)
    )
    assert status == 200
    assert claims_of(body["access_token"])["client_id"] == agency.id


def test_a_dpo_client_gets_only_dpo_scopes(http: TestClient, clients: Clients):
    dpo = clients.other("city-dpo", ClientRole.DPO)
    status, body = request_token(
        http, token_form(client_assertion(dpo.id, dpo.key, TOKEN_ENDPOINT))
    )
    assert status == 200
    assert set(body["scope"].split()) == {"audit:read", "policy:read"}


def test_a_monitoring_client_gets_monitoring_read_only(http: TestClient, clients: Clients):
    office = clients.other("city-monitoring", ClientRole.MONITORING)
    form = token_form(client_assertion(office.id, office.key, TOKEN_ENDPOINT))
    assert request_token(http, form)[1]["scope"] == "monitoring:read"
    form = token_form(client_assertion(office.id, office.key, TOKEN_ENDPOINT), scope="audit:read")
    assert request_token(http, form) == (
        400,
        {
            "error": "invalid_scope",
            "error_description": "The client may not hold the requested scope.",
        },
    )


# -- refusals -------------------------------------------------------------------------------


def test_wrong_grant_type_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    form = token_form(client_assertion(agency.id, agency.key, TOKEN_ENDPOINT))
    form["grant_type"] = "password"
    status, body = request_token(http, form)
    assert (status, body["error"]) == (400, "unsupported_grant_type")


def test_bad_signature_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    impostor = new_ed25519()
    assertion = client_assertion(agency.id, impostor, TOKEN_ENDPOINT)
    status, body = request_token(http, token_form(assertion))
    assert (status, body["error"]) == (400, "invalid_client")


def test_a_tampered_assertion_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    header, payload, signature = client_assertion(agency.id, agency.key, TOKEN_ENDPOINT).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] += 1
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    status, body = request_token(http, token_form(f"{header}.{forged}.{signature}"))
    assert (status, body["error"]) == (400, "invalid_client")


def test_expired_assertion_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    past = int(time.time()) - 600
    assertion = client_assertion(
        agency.id, agency.key, TOKEN_ENDPOINT, claims={"iat": past - 60, "exp": past}
    )
    status, body = request_token(http, token_form(assertion))
    assert (status, body["error"]) == (400, "invalid_client")


def test_an_assertion_longer_than_an_hour_is_refused(http: TestClient, clients: Clients):
    """An hour (GATEWAY_ASSERTION_MAX_LIFETIME's default, and its most) and the clock's
    leeway is the longest an assertion may live."""
    agency = clients.agency()
    assertion = client_assertion(agency.id, agency.key, TOKEN_ENDPOINT, lifetime=3600 + 60)
    status, body = request_token(http, token_form(assertion))
    assert (status, body["error"]) == (400, "invalid_client")
    assert "too long" in body["error_description"]


def test_replayed_assertion_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    form = token_form(client_assertion(agency.id, agency.key, TOKEN_ENDPOINT))
    assert request_token(http, form)[0] == 200
    status, body = request_token(http, form)
    assert (status, body["error"]) == (400, "invalid_client")
    assert "used before" in body["error_description"]


def test_the_same_jti_from_two_clients_is_not_a_replay(http: TestClient, clients: Clients):
    first = clients.agency("koeln-jobcenter")
    second = clients.agency("koeln-jugendamt", AgencyKind.YOUTH_WELFARE_OFFICE)
    for agency in (first, second):
        form = token_form(
            client_assertion(agency.id, agency.key, TOKEN_ENDPOINT, jti="shared-jti-1")
        )
        assert request_token(http, form)[0] == 200


def test_assertion_without_jti_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    now = int(time.time())
    claims = {"iss": agency.id, "sub": agency.id, "aud": TOKEN_ENDPOINT, "exp": now + 60}
    assertion = jwt.encode({"alg": "Ed25519"}, claims, agency.key, algorithms=["Ed25519"])
    status, body = request_token(http, token_form(assertion))
    assert (status, body["error"]) == (400, "invalid_client")


def test_wrong_audience_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    assertion = client_assertion(agency.id, agency.key, "https://other-gateway.example/oauth/token")
    status, body = request_token(http, token_form(assertion))
    assert (status, body["error"]) == (400, "invalid_client")


def test_issuer_and_subject_must_match(http: TestClient, clients: Clients):
    agency = clients.agency()
    assertion = client_assertion(
        agency.id, agency.key, TOKEN_ENDPOINT, claims={"iss": "someone-else"}
    )
    status, body = request_token(http, token_form(assertion))
    assert (status, body["error"]) == (400, "invalid_client")


def test_unknown_client_is_refused(http: TestClient):
    stranger = new_ed25519()
    assertion = client_assertion("nobody-here", stranger, TOKEN_ENDPOINT)
    status, body = request_token(http, token_form(assertion))
    assert (status, body["error"]) == (400, "invalid_client")


def test_disabled_agency_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    clients.disable(agency.id)
    assertion = client_assertion(agency.id, agency.key, TOKEN_ENDPOINT)
    status, body = request_token(http, token_form(assertion))
    assert (status, body["error"]) == (400, "invalid_client")


def test_demo_agency_is_refused_outside_demo_mode(http: TestClient, clients: Clients):
    agency = clients.agency(demo=True)
    assertion = client_assertion(agency.id, agency.key, TOKEN_ENDPOINT)
    status, body = request_token(http, token_form(assertion))
    assert (status, body["error"]) == (400, "invalid_client")


def test_scope_not_allowed_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    assertion = client_assertion(agency.id, agency.key, TOKEN_ENDPOINT)
    status, body = request_token(http, token_form(assertion, scope="exchange:query audit:read"))
    assert (status, body["error"]) == (400, "invalid_scope")


def test_unknown_scope_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    assertion = client_assertion(agency.id, agency.key, TOKEN_ENDPOINT)
    status, body = request_token(http, token_form(assertion, scope="everything"))
    assert (status, body["error"]) == (400, "invalid_scope")


def test_assertion_with_alg_none_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    now = int(time.time())
    claims = {
        "iss": agency.id,
        "sub": agency.id,
        "aud": TOKEN_ENDPOINT,
        "exp": now + 60,
        "jti": "none-alg-assertion",
    }

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    status, body = request_token(http, token_form(unsigned))
    assert (status, body["error"]) == (400, "invalid_client")


def test_hmac_assertion_keyed_with_the_public_key_is_refused(http: TestClient, clients: Clients):
    """Algorithm confusion: an attacker who knows the public key must not sign with it as HMAC."""
    agency = clients.agency()
    public_x = agency.key.as_dict(private=False)["x"]
    assertion = client_assertion(
        agency.id, OctKey.import_key(public_x), TOKEN_ENDPOINT, alg="HS256"
    )
    status, body = request_token(http, token_form(assertion))
    assert (status, body["error"]) == (400, "invalid_client")
    assert "algorithm" in body["error_description"]


def test_rsa_assertion_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    rsa = RSAKey.generate_key(2048, private=True)
    assertion = client_assertion(agency.id, rsa, TOKEN_ENDPOINT, alg="RS256")
    status, body = request_token(http, token_form(assertion))
    assert (status, body["error"]) == (400, "invalid_client")


def test_wrong_client_secret_is_refused(http: TestClient, clients: Clients):
    agency = clients.secret_agency()
    response = http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(agency.id, "gws_wrong" * 5)
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_a_key_client_cannot_use_a_secret(http: TestClient, clients: Clients):
    agency = clients.agency()
    response = http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(agency.id, "x" * 40)
    )
    assert response.json()["error"] == "invalid_client"


def test_no_client_authentication_is_refused(http: TestClient):
    response = http.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_a_bearer_header_authenticates_nothing_here_and_is_ignored(
    http: TestClient, clients: Clients
):
    """Only HTTP Basic is client authentication at the token endpoint; an old access token
    that an HTTP client attaches to every request is no second method (schemathesis sent one
    with an assertion and got 400). Basic with an assertion stays refused (test_hardening)."""
    agency = clients.agency()
    form = token_form(client_assertion(agency.id, agency.key, TOKEN_ENDPOINT))
    status, body = request_token(http, form, headers={"Authorization": "Bearer old"})
    assert status == 200, body
    status, body = request_token(
        http, {"grant_type": "client_credentials"}, headers={"Authorization": "Bearer old"}
    )
    assert (status, body["error"]) == (401, "invalid_client")


def test_json_body_is_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    form = token_form(client_assertion(agency.id, agency.key, TOKEN_ENDPOINT))
    response = http.post("/oauth/token", json=form)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_repeated_parameters_are_refused(http: TestClient, clients: Clients):
    agency = clients.agency()
    assertion = client_assertion(agency.id, agency.key, TOKEN_ENDPOINT)
    body = "&".join(f"{k}={v}" for k, v in token_form(assertion).items()) + "&grant_type=x"
    response = http.post(
        "/oauth/token",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_unknown_parameters_are_ignored_each_sent_once_as_the_document_says(
    http: TestClient, clients: Clients
):
    """RFC 6749 §3.2: unrecognised parameters are ignored; the document allows them as single
    strings only (an array would be the same parameter repeated, which is refused)."""
    agency = clients.agency()
    form = token_form(client_assertion(agency.id, agency.key, TOKEN_ENDPOINT))
    status, _ = request_token(http, form | {"resource": "https://elsewhere.example"})
    assert status == 200
    document = http.get("/openapi.json").json()
    content = document["paths"]["/oauth/token"]["post"]["requestBody"]["content"]
    reference = content["application/x-www-form-urlencoded"]["schema"]["$ref"]
    schema = document["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert schema["additionalProperties"] == {"type": "string"}


def test_refused_requests_issue_nothing_and_store_no_jti(
    http: TestClient, clients: Clients, database: Database
):
    agency = clients.agency()
    impostor = new_ed25519()
    request_token(http, token_form(client_assertion(agency.id, impostor, TOKEN_ENDPOINT)))
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(UsedAssertion)) == 0


def test_error_descriptions_quote_no_credential(http: TestClient, clients: Clients):
    agency = clients.agency()
    assertion = client_assertion(agency.id, new_ed25519(), TOKEN_ENDPOINT)
    response = http.post("/oauth/token", data=token_form(assertion))
    assert assertion not in response.text
    assert assertion.split(".")[1] not in response.text
