"""Attacks on the token endpoint, the bearer check and the key folder, found in a security review.

Each test failed before its fix: unauthenticated 500s, a write lock held while hashing, client
enumeration, two authentication methods in one request, key-folder re-reads on unknown kids,
concurrent rotations, and interoperability of the two names of Ed25519.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sqlite3
import threading
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OKPKey

import gateway.auth.server as token_server
from gateway.agencies import service
from gateway.agencies.credentials import verify_secret
from gateway.agencies.service import Credential
from gateway.keys import store
from gateway.keys.store import KeyStore, KeyStoreError
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.support import Clients, LiveServer, client_assertion, new_ed25519, token_form

TOKEN_ENDPOINT = "http://localhost/oauth/token"
ON_POSTGRES = bool(os.environ.get("GATEWAY_TEST_DATABASE_URL"))


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def unsigned_assertion(sub: str) -> str:
    """An assertion anyone can write: no key needed, the signature is garbage."""
    now = int(time.time())
    claims = {"iss": sub, "sub": sub, "aud": TOKEN_ENDPOINT, "exp": now + 60, "jti": "j" * 16}
    return f"{_b64({'alg': 'Ed25519'})}.{_b64(claims)}.AAAA"


def test_an_assertion_naming_a_secret_client_is_a_400_not_a_500(http: TestClient, clients: Clients):
    agency = clients.secret_agency()
    response = http.post("/oauth/token", data=token_form(unsigned_assertion(agency.id)))
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("where", ["assertion_sub", "basic_user", "jti"])
def test_a_nul_character_in_an_identifier_is_refused_not_a_500(
    http: TestClient, clients: Clients, where: str
):
    if not ON_POSTGRES:
        pytest.skip("SQLite stores NUL; PostgreSQL refuses it with DataError")
    agency = clients.agency()
    if where == "assertion_sub":
        response = http.post("/oauth/token", data=token_form(unsigned_assertion("koeln\x00x")))
    elif where == "basic_user":
        response = http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=("ko\x00eln", "x" * 40)
        )
    else:
        assertion = client_assertion(agency.id, agency.key, TOKEN_ENDPOINT, jti="abc\x00defgh")
        response = http.post("/oauth/token", data=token_form(assertion))
    assert response.status_code in (400, 401)


def test_a_failed_basic_attempt_does_not_hold_the_write_lock_while_hashing(
    http: TestClient, clients: Clients, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    if ON_POSTGRES:
        pytest.skip("the global write lock is SQLite's (BEGIN IMMEDIATE)")
    agency = clients.secret_agency()
    other_writer: list[str] = []

    def probing_verify(secret: str, stored: str) -> bool:
        path = settings.database_url.removeprefix("sqlite:///")
        connection = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            other_writer.append("could write")
        except sqlite3.OperationalError as locked:
            other_writer.append(str(locked))
        finally:
            connection.close()
        return verify_secret(secret, stored)

    monkeypatch.setattr(token_server, "verify_secret", probing_verify)
    http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(agency.id, "y" * 40))
    assert other_writer == ["could write"]


def test_unknown_and_known_clients_fail_basic_auth_alike(http: TestClient, clients: Clients):
    agency = clients.secret_agency()
    form = {"grant_type": "client_credentials"}
    unknown = http.post("/oauth/token", data=form, auth=("nobody-here", "y" * 40))
    known = http.post("/oauth/token", data=form, auth=(agency.id, "y" * 40))
    assert unknown.json() == known.json()


def test_a_request_with_two_authentication_methods_is_refused(http: TestClient, clients: Clients):
    secret_agency = clients.secret_agency()
    key_agency = clients.agency()
    assertion = client_assertion(key_agency.id, key_agency.key, TOKEN_ENDPOINT)
    # RFC 6749 §2.3: a client MUST NOT use more than one authentication method per request.
    response = http.post(
        "/oauth/token", data=token_form(assertion), auth=(secret_agency.id, "wrong" * 8)
    )
    assert response.status_code in (400, 401)


def test_bearer_tokens_with_unknown_kids_do_not_reread_the_key_folder_each_time(
    http: TestClient, clients: Clients, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
):
    clients.agency()
    runtime.keys._reload_interval = 1.0  # the production default
    runtime.keys._reload()
    reads: list[int] = []
    read_all = KeyStore._read_all

    def counting_read_all(self: KeyStore):
        reads.append(1)
        return read_all(self)

    monkeypatch.setattr(KeyStore, "_read_all", counting_read_all)
    stranger = new_ed25519()
    for number in range(20):
        header = {"alg": "Ed25519", "typ": "at+jwt", "kid": f"made-up-{number}"}
        forged = jwt.encode(header, {"x": 1}, stranger, algorithms=["Ed25519"])
        assert http.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert len(reads) <= 2


def test_two_concurrent_rotations_leave_an_active_signing_key(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    grace = timedelta(seconds=330)
    KeyStore(tmp_path, grace=grace).ensure()
    both_new_keys_written = threading.Barrier(2)
    write = store._write_key

    def write_then_wait(folder, key) -> None:  # type: ignore[no-untyped-def]
        write(folder, key)
        if key.retired_at is None and threading.current_thread().name.startswith("rotate"):
            with contextlib.suppress(threading.BrokenBarrierError):
                both_new_keys_written.wait(timeout=2)

    monkeypatch.setattr(store, "_write_key", write_then_wait)
    failures: list[str] = []

    def rotate() -> None:
        try:
            KeyStore(tmp_path, grace=grace).rotate()
        except Exception as failed:
            failures.append(repr(failed))  # e.g. both retire the old key through one .tmp file

    rotations = [threading.Thread(target=rotate, name=f"rotate{n}") for n in range(2)]
    for rotation in rotations:
        rotation.start()
    for rotation in rotations:
        rotation.join()
    assert failures == []
    try:
        KeyStore(tmp_path, grace=grace).active_kid()
    except KeyStoreError:
        pytest.fail("no active signing key: the token endpoint now answers 500")


def test_the_sdk_works_with_a_private_jwk_without_kid(live_server: LiveServer):
    from gateway.client import AgencyKey, TokenSource

    private = OKPKey.generate_key("Ed25519", private=True).as_dict(private=True)
    private.pop("kid", None)
    live_server.clients.agency(key=OKPKey.import_key(private))
    with TokenSource(
        live_server.token_endpoint, AgencyKey.from_jwk("koeln-jobcenter", private)
    ) as tokens:
        assert tokens.token().count(".") == 2


def test_a_key_registered_as_eddsa_accepts_the_rfc9864_name(http: TestClient, clients: Clients):
    key = new_ed25519()
    jwks = json.dumps({"keys": [key.as_dict(private=False) | {"alg": "EdDSA"}]})
    with clients.database.transaction() as session:
        service.register_agency(
            session,
            clients.audit,
            agency_id="bonn-jobcenter",
            kind="job_centre",
            municipality="bonn",
            name="Jobcenter Bonn",
            credential=Credential(jwks_text=jwks),
        )
    # gateway.client always signs OKP keys as "Ed25519"
    assertion = client_assertion("bonn-jobcenter", key, TOKEN_ENDPOINT, alg="Ed25519")
    assert http.post("/oauth/token", data=token_form(assertion)).status_code == 200


def test_a_token_request_with_too_many_fields_gets_an_rfc6749_body(http: TestClient):
    body = "&".join(f"f{n}=" for n in range(1500)).encode()
    response = http.post(
        "/oauth/token", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    assert response.json().get("error") == "invalid_request"
