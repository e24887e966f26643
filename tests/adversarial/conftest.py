"""Attacks from the outside: a live gateway (uvicorn) on the test database, the four offices of
Köln and the job centre of Bonn as OAuth clients, the foreigners' office's and the job centre's
systems as reference providers, a DPO tool, and a person's browser for the portal.

Each test here plays one of the actors of ``docs/threat-model.md`` against what that actor can
really reach: the HTTP API with its own credentials, the portal with a code, the database or the
key folder where the actor is the operator.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from joserfc.jwk import KeySet
from sqlalchemy import select

from consent.vocabulary import AgencyKind
from gateway.agencies.tables import Agency, ClientRole
from gateway.audit.service import decode
from gateway.audit.tables import AuditEntry
from gateway.simulator.app import provider_app
from tests.exchange import world
from tests.support import (
    LiveServer,
    RegisteredClient,
    client_assertion,
    serve_app,
    start_live_server,
    token_form,
)

ABH, JC, JA, SA, BONN = (
    "koeln-auslaenderbehoerde", "koeln-jobcenter", "koeln-jugendamt", "koeln-sozialamt",
    "bonn-jobcenter",
)  # fmt: skip
KINDS = {
    ABH: AgencyKind.FOREIGNERS_OFFICE,
    JC: AgencyKind.JOB_CENTRE,
    JA: AgencyKind.YOUTH_WELFARE_OFFICE,
    SA: AgencyKind.SOCIAL_OFFICE,
}
DPO = "dpo-office"

# What each office calls the two persons of these tests.
AMIRA = {JC: "JC-4711", ABH: "ABH-0815", SA: "SA-2002", JA: "JA-0042"}
OLEKSII = {JC: "JC-9000", ABH: "ABH-7777", SA: "SA-5555", JA: "JA-1234"}

RESIDENCE = {"from": ABH, "to": JC, "categories": ["residence_status"],
             "purposes": ["labour_market_integration", "case_management"]}  # fmt: skip
BENEFITS = {"from": JC, "to": SA, "categories": ["benefit_status"],
            "purposes": ["benefit_entitlement"]}  # fmt: skip
CONTACTS = {"from": JC, "to": JA, "categories": ["case_contact", "case_conference"],
            "purposes": ["case_management"]}  # fmt: skip

RESIDENCE_STATUS = world.RESIDENCE  # the foreigners' office's file on a person
CONFERENCE = {
    "starts_at": "2026-12-03T10:00:00+01:00",
    "location": "Jobcenter Köln, Raum 2.14",
    "topic": "Hilfeplan und Sprachkurs",
    "participants": [JC, JA],
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def consent_body(references: dict[str, str], *grants: dict[str, Any], **changes: Any) -> dict:
    now = datetime.now(UTC)
    body = {
        "subject": {"references": references, "age_band": "adult"},
        "given_by": [{"role": "data_subject"}],
        "grants": list(grants or (RESIDENCE,)),
        "valid_from": (now - timedelta(minutes=5)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
        "notice": {"form_id": "cross-agency-case-management", "form_version": "1",
                   "language": "ar", "interpreter_language": "ar"},
        "evidence": {"channel": "paper_signed", "document_sha256": "ab" * 32},
    }  # fmt: skip
    return body | changes


@dataclass
class City:
    """The gateway and everyone around it, as each of them reaches it."""

    gateway: LiveServer
    offices: dict[str, RegisteredClient]
    # The providers' files: agency -> its reference -> category -> document.
    cases: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # What a provider's system answers instead, byte for byte, once it misbehaves.
    raw_answers: dict[str, bytes] = field(default_factory=dict)
    fetches: dict[str, int] = field(default_factory=dict)  # calls each provider's system got
    provider_urls: dict[str, str] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def runtime(self):  # type: ignore[no-untyped-def]
        return self.gateway.runtime

    # -- agency systems and DPO tools, over HTTP ---------------------------------------------

    def token(self, client_id: str) -> str:
        """An access token of the client (one per client and test: tokens live minutes)."""
        if client_id not in self._tokens:
            client = self.offices[client_id]
            assertion = client_assertion(client.id, client.key, self.gateway.token_endpoint)
            response = httpx.post(self.gateway.token_endpoint, data=token_form(assertion))
            assert response.status_code == 200, response.text
            self._tokens[client_id] = response.json()["access_token"]
        return self._tokens[client_id]

    def headers(self, client_id: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(client_id)}", **extra}

    def post(self, client_id: str, path: str, body: Any = None, **headers: str) -> httpx.Response:
        return httpx.post(
            self.url + path, json=body, headers=self.headers(client_id, **headers), timeout=30
        )

    def post_bytes(self, client_id: str, path: str, body: bytes) -> httpx.Response:
        """A body exactly as a (misbehaving) system sends it."""
        headers = self.headers(client_id, **{"Content-Type": "application/json"})
        return httpx.post(self.url + path, content=body, headers=headers, timeout=30)

    def put(self, client_id: str, path: str, body: Any, **headers: str) -> httpx.Response:
        return httpx.put(
            self.url + path, json=body, headers=self.headers(client_id, **headers), timeout=30
        )

    def get(self, client_id: str, path: str, **params: Any) -> httpx.Response:
        return httpx.get(
            self.url + path, params=params, headers=self.headers(client_id), timeout=30
        )

    def record(
        self, recorder: str, references: dict[str, str], *grants: dict[str, Any], **changes: Any
    ) -> httpx.Response:
        return self.post(recorder, "/v1/consents", consent_body(references, *grants, **changes))

    def recorded(
        self, recorder: str, references: dict[str, str], *grants: dict[str, Any]
    ) -> dict[str, Any]:
        """Record a consent that must be accepted; its answer (consent id, portal code ...)."""
        response = self.record(recorder, references, *grants)
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def ask(
        self,
        requester: str,
        provider: str,
        subject_ref: str,
        categories: tuple[str, ...] = ("residence_status",),
        purpose: str = "labour_market_integration",
        **headers: str,
    ) -> httpx.Response:
        body = {
            "provider": provider,
            "subject_ref": subject_ref,
            "categories": list(categories),
            "purpose": purpose,
        }
        return self.post(requester, "/v1/exchanges", body, **headers)

    def misbehave(self, provider: str, answer: bytes) -> None:
        """From now on the provider's system answers every fetch with these bytes (JSON)."""
        self.raw_answers[provider] = answer
        with self.runtime.database.transaction() as session:
            session.get(Agency, provider).provider_url = self.provider_urls[provider] + "/raw"

    # -- what the operator sees ----------------------------------------------------------------

    def audit(self, event: str | None = None) -> list[dict[str, Any]]:
        """The audit entries' bodies, oldest first (``None`` for a pruned one)."""
        query = select(AuditEntry.body).order_by(AuditEntry.id)
        if event is not None:
            query = query.where(AuditEntry.event == event)
        with self.runtime.database.transaction(read_only=True) as session:
            return [decode(body) if body else None for body in session.scalars(query)]

    # -- a person's browser --------------------------------------------------------------------

    def browser(self) -> httpx.Client:
        """A browser of its own (cookies), English, following no redirects."""
        return httpx.Client(
            base_url=self.url, headers={"Accept-Language": "en"}, follow_redirects=False
        )

    def sign_in(self, browser: httpx.Client, code: str) -> httpx.Response:
        page = browser.get("/portal/")
        token = _CSRF.search(page.text)
        assert token, "the sign-in page has a form with a CSRF token"
        return browser.post("/portal/", data={"code": code, "csrf_token": token.group(1)})


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


@pytest.fixture
def city(database_url: str, tmp_path: Path, policy_dir: Path | None) -> Iterator[City]:
    """A live gateway (plain http on 127.0.0.1, so page cookies are not marked Secure), the
    offices registered, and the foreigners' office's and the job centre's systems answering
    from ``city.cases``."""
    with start_live_server(
        database_url,
        tmp_path / "gateway",
        provider_timeout=30.0,  # never late here, however loaded the machine
        cookie_secure=False,
        policy_dir=policy_dir,
    ) as gateway:
        clients = gateway.clients
        offices = {agency: clients.agency(agency, kind) for agency, kind in KINDS.items()}
        offices[BONN] = clients.agency(BONN, AgencyKind.JOB_CENTRE, municipality="bonn")
        offices[DPO] = clients.other(DPO, ClientRole.DPO)
        built = City(gateway, offices, cases={ABH: {}, JC: {}})
        built.cases[ABH][AMIRA[ABH]] = {"residence_status": dict(RESIDENCE_STATUS)}
        built.cases[ABH][OLEKSII[ABH]] = {"residence_status": dict(RESIDENCE_STATUS)}
        jwks_url = f"{gateway.url}/.well-known/jwks.json"

        def gateway_keys() -> KeySet:
            return KeySet.import_key_set(httpx.get(jwks_url).json())

        issuer = gateway.runtime.settings.issuer
        abh = _provider(built, ABH, issuer, gateway_keys)
        jc = _provider(built, JC, issuer, gateway_keys)
        with serve_app(abh) as abh_url, serve_app(jc) as jc_url:
            built.provider_urls = {ABH: abh_url, JC: jc_url}
            with gateway.runtime.database.transaction() as session:
                session.get(Agency, ABH).provider_url = abh_url
                session.get(Agency, JC).provider_url = jc_url
            yield built


def _provider(city: City, agency: str, issuer: str, keys: Any) -> FastAPI:
    """The agency's reference system, and under ``/raw`` the same system gone wrong."""
    app = provider_app(agency, issuer, keys, city.cases[agency])

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        city.fetches[agency] = city.fetches.get(agency, 0) + 1
        return await call_next(request)

    @app.post("/raw/gateway/v1/fetch")
    def misbehaving() -> Response:
        return Response(city.raw_answers[agency], media_type="application/json")

    return app
