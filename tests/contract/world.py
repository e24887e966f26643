"""A gateway with something in it, for the schema-driven contract test: four agencies of Köln
(the foreigners' office answering from a reference provider), a DPO, and what they did through
the API itself, so that ids the fuzzer is given lead to real consents, messages and notices."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import KeySet

from consent.vocabulary import AgencyKind
from gateway.agencies.tables import Agency, ClientRole
from gateway.simulator.app import provider_app
from tests.support import (
    LiveServer,
    RegisteredClient,
    client_assertion,
    serve_app,
    start_live_server,
    token_form,
)

ABH, JC, JA, SA = (
    "koeln-auslaenderbehoerde", "koeln-jobcenter", "koeln-jugendamt", "koeln-sozialamt",
)  # fmt: skip
DPO = "city-dpo"
AMINA = {JC: "JC-4711", ABH: "ABH-0815", JA: "JA-0042"}
OLEKSANDR = {JC: "JC-4712", ABH: "ABH-0816"}
YUSUF = {JC: "JC-4713", ABH: "ABH-0817"}
CASES = {
    reference: {
        "residence_status": {
            "title": "residence_permit",
            "valid_from": "2024-03-01",
            "valid_until": "2027-02-28",
            "employment_permitted": "yes",
            "residence_obligation": "koeln",
            "integration_course_obligation": True,
        },
        "case_contact": {
            "agency": ABH,
            "caseworker_name": "Mehmet Yilmaz",
            "phone": "+49 221 221-0",
            "email": "auslaenderbehoerde@stadt-koeln.example",
            "role": "caseworker",
        },
    }
    for reference in (AMINA[ABH], OLEKSANDR[ABH])
}
CONFERENCE = {
    "starts_at": "2026-12-03T10:00:00+01:00",
    "location": "Jugendamt Köln, Raum 1.02",
    "topic": "Hilfeplan",
    "participants": [JA, JC],
}
RESIDENCE_GRANTS = [
    {
        "from": ABH,
        "to": JC,
        "categories": ["residence_status"],
        "purposes": ["labour_market_integration", "case_management"],
    },
    {"from": ABH, "to": JC, "categories": ["case_contact"], "purposes": ["case_management"]},
]
CONFERENCE_GRANTS = [
    {"from": JA, "to": JC, "categories": ["case_conference"], "purposes": ["case_management"]},
    {"from": JC, "to": JA, "categories": ["case_conference"], "purposes": ["case_management"]},
]


@dataclass
class World:
    """The gateway, its callers, and the ids of what they made, as the job centre sees them:
    what the fuzzer may only read, and apart from it what it may change (withdraw, answer,
    acknowledge), so that a change made early in a run leaves the rest of it real data."""

    gateway: LiveServer
    callers: dict[str, RegisteredClient] = field(default_factory=dict)
    consents: list[str] = field(default_factory=list)  # Amina's (active), Oleksandr's (withdrawn)
    spare_consent: str = ""  # Yusuf's, to withdraw, re-reference and issue codes for
    messages: list[str] = field(default_factory=list)  # one pending, one acknowledged
    spare_message: str = ""  # pending, to acknowledge
    notices: list[str] = field(default_factory=list)

    def token(self, client_id: str) -> str:
        client = self.callers[client_id]
        endpoint = self.gateway.token_endpoint
        form = token_form(client_assertion(client.id, client.key, endpoint))
        response = httpx.post(endpoint, data=form)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def call(self, client_id: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token(client_id)}"}
        response = httpx.request(
            method, f"{self.gateway.url}{path}", headers=headers, timeout=30, **kwargs
        )
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return dict(response.json())


@contextmanager
def seeded_gateway(database_url: str, folder: Path) -> Iterator[World]:
    # Tokens for an hour: the run is given its tokens once, and a deep one outlasts five minutes.
    with (
        start_live_server(
            database_url, folder, provider_timeout=30.0, access_token_lifetime=3600
        ) as gateway,
        _provider(gateway) as provider_url,
    ):
        world = World(gateway)
        clients = gateway.clients
        for agency_id, kind in (
            (ABH, AgencyKind.FOREIGNERS_OFFICE),
            (JC, AgencyKind.JOB_CENTRE),
            (JA, AgencyKind.YOUTH_WELFARE_OFFICE),
            (SA, AgencyKind.SOCIAL_OFFICE),
        ):
            world.callers[agency_id] = clients.agency(agency_id, kind)
        world.callers[DPO] = clients.other(DPO, ClientRole.DPO)
        with gateway.runtime.database.transaction() as session:
            session.get(Agency, ABH).provider_url = provider_url
        _seed(world)
        yield world


@contextmanager
def _provider(gateway: LiveServer) -> Iterator[str]:
    """The foreigners' office's system, answering from ``CASES``."""
    jwks_url = f"{gateway.url}/.well-known/jwks.json"

    def gateway_keys() -> KeySet:
        return KeySet.import_key_set(httpx.get(jwks_url).json())

    with serve_app(provider_app(ABH, gateway.runtime.settings.issuer, gateway_keys, CASES)) as url:
        yield url


def _seed(world: World) -> None:
    """Amina's consent lets the job centre ask about her and hold case conferences with the
    youth welfare office: a query, three invitations to the job centre (one acknowledged).
    Oleksandr's consent is withdrawn after a query, so the job centre has a notice. Yusuf's
    consent is there to be changed."""
    amina = _record(world, AMINA, [*RESIDENCE_GRANTS, *CONFERENCE_GRANTS])
    _query(world, AMINA[JC])
    invitation = {
        "recipient": JC,
        "subject_ref": AMINA[JA],
        "category": "case_conference",
        "purpose": "case_management",
        "payload": CONFERENCE,
    }
    pending, acknowledged, spare = (
        world.call(JA, "POST", "/v1/messages", json=invitation)["message_id"] for _ in range(3)
    )
    world.call(JC, "POST", f"/v1/messages/{acknowledged}/ack")
    world.messages.extend([pending, acknowledged])
    world.spare_message = spare
    oleksandr = _record(world, OLEKSANDR, RESIDENCE_GRANTS)
    _query(world, OLEKSANDR[JC])
    world.call(JC, "POST", f"/v1/consents/{oleksandr}/withdraw", json={"channel": "written"})
    notices = world.call(JC, "GET", "/v1/notices")["notices"]
    world.notices.extend(notice["notice_id"] for notice in notices)
    world.consents.extend([amina, oleksandr])
    world.spare_consent = _record(world, YUSUF, RESIDENCE_GRANTS)
    runtime = world.gateway.runtime
    runtime.audit.publish(runtime.database)  # a signed checkpoint, for the proofs


def _record(world: World, references: dict[str, str], grants: list[dict[str, Any]]) -> str:
    now = datetime.now(UTC)
    body = {
        "subject": {"references": references, "age_band": "adult"},
        "given_by": [{"role": "data_subject"}],
        "grants": grants,
        "valid_from": (now - timedelta(minutes=5)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
        "notice": {
            "form_id": "cross-agency-case-management",
            "form_version": "1",
            "language": "ar",
        },
        "evidence": {"channel": "paper_signed"},
    }
    return str(world.call(JC, "POST", "/v1/consents", json=body)["consent_id"])


def _query(world: World, reference: str) -> str:
    body = {
        "provider": ABH,
        "subject_ref": reference,
        "categories": ["residence_status"],
        "purpose": "labour_market_integration",
    }
    return str(world.call(JC, "POST", "/v1/exchanges", json=body)["exchange_id"])
