"""A city's four offices (with the names people know them by), consents they record about two
persons, and a browser-like client of the portal over https (so Secure cookies travel)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from consent.vocabulary import AgencyKind
from gateway.agencies import service as registry
from gateway.agencies.service import Credential
from gateway.runtime import Runtime
from tests.support import (
    RegisteredClient,
    client_assertion,
    named_in,
    new_ed25519,
    public_jwks,
    token_form,
)

ABH, JC, JA, SA = (
    "koeln-auslaenderbehoerde",
    "koeln-jobcenter",
    "koeln-jugendamt",
    "koeln-sozialamt",
)
NAMES = {
    ABH: "Ausländerbehörde Köln",
    JC: "Jobcenter Köln",
    JA: "Jugendamt Köln",
    SA: "Sozialamt Köln",
}
KINDS = {
    ABH: AgencyKind.FOREIGNERS_OFFICE,
    JC: AgencyKind.JOB_CENTRE,
    JA: AgencyKind.YOUTH_WELFARE_OFFICE,
    SA: AgencyKind.SOCIAL_OFFICE,
}
RESIDENCE = {"from": ABH, "to": JC, "categories": ["residence_status"],
             "purposes": ["case_management", "labour_market_integration"]}  # fmt: skip
BENEFITS = {"from": JC, "to": SA, "categories": ["benefit_status"],
            "purposes": ["benefit_entitlement"]}  # fmt: skip
HTTPS = "https://localhost"
TOKEN_ENDPOINT = "http://localhost/oauth/token"  # the tests' issuer
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# Where a page that needs a session sends a visitor without one (saying why).
SIGN_IN_AGAIN = "/portal/?notice=session-ended"
_SYMBOLS = {"active": "✓", "ended": "✕", "expired": "◷", "refused": "⊘", "shared": "✓",
            "sent": "✉︎", "failed": "⚠︎", "pending": "◔"}  # fmt: skip


def badge(label: str, tone: str) -> str:
    """A state's badge as the pages write it: its tone's colour and symbol, and its word."""
    symbol = f'<span class="symbol" aria-hidden="true">{_SYMBOLS[tone]}</span>'
    return f'<span class="badge badge-{tone}">{symbol} {label}</span>'


def register_offices(runtime: Runtime) -> dict[str, RegisteredClient]:
    offices = {}
    for agency_id, kind in KINDS.items():
        key = new_ed25519()
        with runtime.database.transaction() as session:
            registry.register_agency(
                session,
                runtime.audit,
                agency_id=agency_id,
                kind=kind.value,
                municipality="koeln",
                name=NAMES[agency_id],
                credential=Credential(jwks_text=public_jwks(key)),
            )
        offices[agency_id] = RegisteredClient(agency_id, key=key)
    return offices


def consent_body(references: dict[str, str], *grants: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "subject": {
            "references": named_in(references, list(grants or (RESIDENCE, BENEFITS))),
            "age_band": "adult",
        },
        "given_by": [{"role": "data_subject"}],
        "grants": list(grants or (RESIDENCE, BENEFITS)),
        "valid_from": (now - timedelta(minutes=5)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
        "notice": {"form_id": "cross-agency-case-management", "form_version": "1",
                   "language": "ar", "interpreter_language": "ar"},
        "evidence": {"channel": "paper_signed", "document_sha256": "ab" * 32},
    }  # fmt: skip


# The two persons: the references each office has for them.
AMIRA = {JC: "JC-4711", ABH: "ABH-0815", SA: "SA-2002", JA: "JA-0042"}
OLEKSII = {JC: "JC-9000", ABH: "ABH-7777", SA: "SA-5555", JA: "JA-1234"}


@dataclass(frozen=True)
class Recorded:
    consent_id: str
    portal_code: str


@dataclass
class Offices:
    """The offices' systems calling the API."""

    api: TestClient
    registered: dict[str, RegisteredClient]

    def headers(self, agency_id: str) -> dict[str, str]:
        agency = self.registered[agency_id]
        form = token_form(client_assertion(agency.id, agency.key, TOKEN_ENDPOINT))
        token = self.api.post("/oauth/token", data=form).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def record(self, references: dict[str, str], *grants: dict[str, Any]) -> Recorded:
        body = consent_body(references, *grants)
        response = self.api.post("/v1/consents", json=body, headers=self.headers(JC))
        assert response.status_code == 201, response.text
        answer = response.json()
        return Recorded(answer["consent_id"], answer["portal_code"])


@pytest.fixture
def offices(runtime: Runtime, http: TestClient) -> Offices:
    return Offices(http, register_offices(runtime))


@pytest.fixture
def portal(app: FastAPI) -> Iterator[TestClient]:
    """A person's browser: https, English, no redirects followed (the tests look at each
    answer)."""
    with TestClient(
        app,
        base_url=HTTPS,
        raise_server_exceptions=False,
        follow_redirects=False,
        headers={"Accept-Language": "en"},
    ) as client:
        yield client


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, code: str, **headers: str) -> Any:
    """Open the sign-in page, then send the code with the page's token."""
    page = client.get("/portal/", headers=headers)
    return client.post(
        "/portal/", data={"code": code, "csrf_token": csrf_token(page.text)}, headers=headers
    )


@pytest.fixture
def signed_in(portal: TestClient, offices: Offices) -> Callable[[Recorded], TestClient]:
    def enter(recorded: Recorded) -> TestClient:
        response = sign_in(portal, recorded.portal_code)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/portal/consents"
        return portal

    return enter
