"""A world for exchanges over real HTTP: the gateway and a reference provider (the foreigners'
office's system) as uvicorn servers, the job centre calling. Every request the provider's
system receives is kept with its headers (``provider_requests``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from consent.vocabulary import AgencyKind
from gateway.agencies.tables import Agency
from gateway.audit.tables import AuditEntry
from tests.support import LiveServer, client_assertion, token_form

ABH, JC = "koeln-auslaenderbehoerde", "koeln-jobcenter"
RESIDENCE = {
    "title": "residence_permit",
    "legal_provision": "§ 25 Abs. 2 AufenthG",
    "valid_from": "2024-03-01",
    "valid_until": "2027-02-28",
    "employment_permitted": "yes",
    "residence_obligation": "koeln",
    "integration_course_obligation": True,
}
CONTACT = {
    "agency": ABH,
    "caseworker_name": "Mehmet Yilmaz",
    "phone": "+49 221 221-0",
    "email": "auslaenderbehoerde@stadt-koeln.example",
    "role": "caseworker",
}
FORM = "cross-agency-case-management"
RELEASED = {"title", "valid_until", "employment_permitted", "residence_obligation"}


class World:
    """A gateway, the foreigners' office's system behind it, and the job centre calling."""

    def __init__(self, gateway: LiveServer, cases: dict[str, Any]):
        self.gateway = gateway
        self.cases = cases
        self.provider_requests: list[dict[str, str]] = []  # each request's headers
        clients = gateway.clients
        self.abh = clients.agency(ABH, AgencyKind.FOREIGNERS_OFFICE)
        self.jc = clients.agency(JC, AgencyKind.JOB_CENTRE)

    def token(self, agency) -> dict[str, str]:
        endpoint = self.gateway.token_endpoint
        form = token_form(client_assertion(agency.id, agency.key, endpoint))
        token = httpx.post(endpoint, data=form).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def post(
        self, path: str, body: dict[str, Any], agency, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = {**self.token(agency), **(headers or {})}
        return httpx.post(f"{self.gateway.url}{path}", json=body, headers=headers, timeout=30)

    def consent_body(
        self,
        categories: tuple[str, ...] = ("residence_status",),
        purposes: tuple[str, ...] = ("labour_market_integration",),
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "subject": {"references": {JC: "JC-4711", ABH: "ABH-0815"}, "age_band": "adult"},
            "given_by": [{"role": "data_subject"}],
            "grants": [{"from": ABH, "to": JC, "categories": list(categories),
                        "purposes": list(purposes)}],
            "valid_from": (now - timedelta(minutes=1)).isoformat(),
            "valid_until": (now + timedelta(days=90)).isoformat(),
            "notice": {"form_id": FORM, "form_version": "1", "language": "tr"},
            "evidence": {"channel": "in_person_recorded"},
        }  # fmt: skip

    def record_consent(
        self,
        categories: tuple[str, ...] = ("residence_status",),
        purposes: tuple[str, ...] = ("labour_market_integration",),
    ) -> str:
        response = self.post("/v1/consents", self.consent_body(categories, purposes), self.jc)
        assert response.status_code == 201, response.text
        return str(response.json()["consent_id"])

    def ask(
        self,
        purpose: str = "labour_market_integration",
        reference: str = "JC-4711",
        categories: tuple[str, ...] = ("residence_status",),
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body = {
            "provider": ABH,
            "subject_ref": reference,
            "categories": list(categories),
            "purpose": purpose,
        }
        return self.post("/v1/exchanges", body, self.jc, headers)

    def provider_at(self, path: str) -> None:
        """Point the foreigners' office's registration at another route of its system."""
        with self.gateway.runtime.database.transaction() as session:
            agency = session.get(Agency, ABH)
            agency.provider_url = f"{agency.provider_url}/{path}"

    def audit(self) -> list[tuple[str | None, str | None]]:
        with self.gateway.runtime.database.transaction(read_only=True) as session:
            rows = session.execute(
                select(AuditEntry.decision, AuditEntry.reason)
                .where(AuditEntry.event == "exchange.decided")
                .order_by(AuditEntry.id)
            )
            return [tuple(row) for row in rows]
