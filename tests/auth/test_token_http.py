"""The token flow over real HTTP (uvicorn on a free port) with authlib's own OAuth 2.0 client."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import httpx
import jwt as pyjwt
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization

from gateway.client import AgencyKey, TokenSource
from gateway.client.auth import signed_assertion
from tests.support import LiveServer, client_assertion, start_live_server, token_form


def test_an_agency_gets_a_token_with_authlib_and_calls_the_api(live_server: LiveServer):
    agency = live_server.clients.agency()
    with TokenSource(
        live_server.token_endpoint, AgencyKey("koeln-jobcenter", agency.key)
    ) as tokens:
        token = tokens.token()
    response = httpx.get(f"{live_server.url}/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["client_id"] == "koeln-jobcenter"


def test_an_es256_agency_key_works_too(live_server: LiveServer):
    from tests.support import new_es256

    agency = live_server.clients.agency(key=new_es256())
    with TokenSource(live_server.token_endpoint, AgencyKey(agency.id, agency.key)) as tokens:
        assert tokens.token().count(".") == 2


def test_the_token_source_reuses_a_token_until_it_nears_expiry(live_server: LiveServer):
    agency = live_server.clients.agency()
    key = AgencyKey(agency.id, agency.key)
    with TokenSource(live_server.token_endpoint, key, refresh_margin=30) as tokens:
        assert tokens.token() == tokens.token()
    # A margin longer than the token's life means every call needs a new token.
    with TokenSource(live_server.token_endpoint, key, refresh_margin=3600) as tokens:
        assert tokens.token() != tokens.token()


def test_a_stock_authlib_client_gets_a_token_as_its_documentation_shows(live_server: LiveServer):
    """authlib's OAuth2Client with its stock PrivateKeyJWT (hour-long assertions), set up as
    authlib documents it, the private key as the client secret."""
    agency = live_server.clients.agency()
    token_endpoint = live_server.token_endpoint
    client = OAuth2Client(
        client_id=agency.id,
        client_secret=agency.key,
        token_endpoint_auth_method=PrivateKeyJWT(token_endpoint, alg="Ed25519"),
    )
    with client:
        token = client.fetch_token(token_endpoint, grant_type="client_credentials")
        me = client.get(f"{live_server.url}/v1/me")
    assert token["token_type"] == "Bearer"
    assert (me.status_code, me.json()["client_id"]) == (200, agency.id)


def test_an_assertion_made_by_pyjwt_with_its_defaults_gets_a_token(live_server: LiveServer):
    """A second library: PyJWT signs the claims RFC 7523 asks for, with its default header
    (no key id) and its name for Ed25519, EdDSA."""
    agency = live_server.clients.agency()
    now = int(time.time())
    claims = {"iss": agency.id, "sub": agency.id, "aud": live_server.token_endpoint,
              "iat": now, "exp": now + 3600, "jti": secrets.token_urlsafe(16)}  # fmt: skip
    private = serialization.load_pem_private_key(agency.key.as_pem(private=True), password=None)
    assertion = pyjwt.encode(claims, private, algorithm="EdDSA")
    assert "kid" not in pyjwt.get_unverified_header(assertion)
    response = httpx.post(live_server.token_endpoint, data=token_form(assertion))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


def test_a_stricter_deployment_refuses_hour_long_assertions_with_a_reason(
    database_url: str, tmp_path: Path
):
    with start_live_server(database_url, tmp_path / "strict", assertion_max_lifetime=300) as strict:
        agency = strict.clients.agency()
        client = OAuth2Client(
            client_id=agency.id,
            client_secret=agency.key,
            token_endpoint_auth_method=PrivateKeyJWT(strict.token_endpoint, alg="Ed25519"),
        )
        with client, pytest.raises(Exception, match="lives too long"):
            client.fetch_token(strict.token_endpoint, grant_type="client_credentials")
        # The SDK's one-minute assertions pass there too.
        with TokenSource(strict.token_endpoint, AgencyKey(agency.id, agency.key)) as tokens:
            assert tokens.token().count(".") == 2


def test_client_secret_basic_with_authlib(live_server: LiveServer):
    agency = live_server.clients.secret_agency()
    with OAuth2Client(
        client_id=agency.id,
        client_secret=agency.secret,
        token_endpoint_auth_method="client_secret_basic",
    ) as client:
        token = client.fetch_token(live_server.token_endpoint, grant_type="client_credentials")
    assert token["token_type"] == "Bearer"


def test_a_replayed_assertion_is_refused_by_another_instance(
    live_server: LiveServer, database_url: str, tmp_path: Path
):
    """Two gateway instances behind one public address share the database: the second refuses."""
    agency = live_server.clients.agency()
    issuer = live_server.runtime.settings.issuer
    with start_live_server(
        database_url,
        tmp_path / "second",
        issuer=issuer,
        key_dir=live_server.runtime.settings.key_dir,
    ) as second:
        form = token_form(client_assertion(agency.id, agency.key, f"{issuer}/oauth/token"))
        first_answer = httpx.post(f"{live_server.url}/oauth/token", data=form)
        replay = httpx.post(f"{second.url}/oauth/token", data=form)
        # The token from the first instance works on the second: one deployment, one key folder.
        token = first_answer.json()["access_token"]
        me = httpx.get(f"{second.url}/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert first_answer.status_code == 200
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_client")
    assert me.status_code == 200


def test_a_token_by_hand_with_the_sdks_assertion_as_the_readme_shows(
    live_server: LiveServer, tmp_path: Path
):
    agency = live_server.clients.agency()
    key_file = tmp_path / "agency.key.json"
    key_file.write_text(json.dumps(agency.key.as_dict(private=True)))
    assertion = signed_assertion(agency.id, key_file, live_server.token_endpoint)
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    token = httpx.post(live_server.token_endpoint, data=form).json()["access_token"]
    me = httpx.get(f"{live_server.url}/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert (me.status_code, me.json()["client_id"]) == (200, agency.id)
