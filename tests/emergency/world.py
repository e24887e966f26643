"""The emergency world: the exchange tests' gateway and foreigners' office's system, and a youth
welfare office registered for emergency access that knows the person from a consent recorded
earlier (references are only ever linked by a consent)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from consent.vocabulary import AgencyKind
from gateway.agencies import service as registry
from gateway.audit.tables import AuditEntry
from tests.exchange.world import ABH, World
from tests.support import client_assertion, token_form

JA = "koeln-jugendamt"
JUSTIFICATION = {
    "reason": "acute_child_endangerment",
    "case_number": "JA-8A-2026-0042",
    "text": "Neighbours report the child alone for three days; the parents cannot be reached.",
}
EMERGENCY_FIELDS = {"title", "valid_until", "residence_obligation"}


class Emergency:
    """The youth welfare office's side of an emergency."""

    def __init__(self, world: World):
        self.world = world
        self.ja = world.gateway.clients.agency(JA, AgencyKind.YOUTH_WELFARE_OFFICE)

    def grant(self, allowed: bool = True) -> None:
        runtime = self.world.gateway.runtime
        with runtime.database.transaction() as session:
            registry.set_emergency_access(
                session, runtime.audit, JA, allowed=allowed, policies=runtime.policies
            )

    def token(self, scope: str | None = "exchange:emergency") -> httpx.Response:
        endpoint = self.world.gateway.token_endpoint
        return httpx.post(
            endpoint, data=token_form(client_assertion(JA, self.ja.key, endpoint), scope)
        )

    def bearer(self, scope: str | None = "exchange:emergency") -> dict[str, str]:
        response = self.token(scope)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def known_from_a_consent(self) -> str:
        """The person is linked between the two offices by a consent for case management,
        which is then withdrawn: emergency access does not rest on it."""
        return str(self.recorded_consent()["consent_id"])

    def recorded_consent(self) -> dict[str, Any]:
        """That consent, as the gateway answers it (with the person's portal code)."""
        now = datetime.now(UTC)
        body = {
            "subject": {"references": {JA: "JA-77", ABH: "ABH-0815"}, "age_band": "minor_under_15"},
            "given_by": [{"role": "legal_guardian"}],
            "grants": [{"from": ABH, "to": JA, "categories": ["residence_status"],
                        "purposes": ["case_management"]}],
            "valid_from": (now - timedelta(minutes=1)).isoformat(),
            "valid_until": (now + timedelta(days=90)).isoformat(),
            "notice": {"form_id": "cross-agency-case-management", "form_version": "1",
                       "language": "ar"},
            "evidence": {"channel": "in_person_recorded"},
        }  # fmt: skip
        response = self.world.post("/v1/consents", body, self.ja)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def withdraw(self, consent_id: str) -> None:
        response = self.world.post(
            f"/v1/consents/{consent_id}/withdraw", {"channel": "written"}, self.ja
        )
        assert response.status_code == 200, response.text

    def ask(
        self,
        justification: dict[str, Any] | None = None,
        *,
        categories: tuple[str, ...] = ("residence_status",),
        purpose: str = "child_and_youth_welfare",
        reference: str = "JA-77",
        headers: dict[str, str] | None = None,
        omit: tuple[str, ...] = (),
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "provider": ABH,
            "subject_ref": reference,
            "categories": list(categories),
            "purpose": purpose,
            "justification": dict(JUSTIFICATION if justification is None else justification),
        }
        for name in omit:
            body.pop(name)
        return httpx.post(
            f"{self.world.gateway.url}/v1/exchanges/emergency",
            json=body,
            headers=headers if headers is not None else self.bearer(),
            timeout=30,
        )

    def entries(self) -> list[dict[str, Any]]:
        """The bodies of the exchange entries, oldest first."""
        with self.world.gateway.runtime.database.transaction(read_only=True) as session:
            bodies = session.scalars(
                select(AuditEntry.body)
                .where(AuditEntry.event == "exchange.decided")
                .order_by(AuditEntry.id)
            )
            return [json.loads(body) for body in bodies if body]
