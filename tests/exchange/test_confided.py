"""A query for data the policy marks as confided (§ 65 SGB VIII) after the consent was
recorded: the consent no longer covers it, and the refusal names the rule; a consent the
confiding person gave does. Two gateway instances on one database stand for the deployment
before and after the policy changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import KeySet
from sqlalchemy import select

from consent.vocabulary import AgencyKind
from gateway.agencies.tables import Agency
from gateway.audit.tables import AuditEntry
from gateway.simulator.app import provider_app
from tests.support import (
    CONFIDED_CITATION,
    LiveServer,
    RegisteredClient,
    client_assertion,
    confided_policies,
    serve_app,
    start_live_server,
    token_form,
)

JA, JC = "koeln-jugendamt", "koeln-jobcenter"
SUPPORT = {
    "support_type": "educational_support",
    "status": "ongoing",
    "since": "2024-02-12",
    "lead_contact": {"name": "Miriam Schäfer", "phone": "+49 221 221-34567",
                     "email": "miriam.schaefer@jugendamt.example"},
}  # fmt: skip
QUERY = {"provider": JA, "subject_ref": "JC-4711", "categories": ["youth_welfare_support"],
         "purpose": "case_management"}  # fmt: skip


@dataclass
class Deployment:
    before: LiveServer  # the reference set: nothing marked
    after: LiveServer  # the same, with the youth welfare office's support data marked confided
    jobcentre: RegisteredClient

    def headers(self) -> dict[str, str]:
        endpoint = self.before.token_endpoint
        form = token_form(client_assertion(self.jobcentre.id, self.jobcentre.key, endpoint))
        return {"Authorization": f"Bearer {httpx.post(endpoint, data=form).json()['access_token']}"}

    def record(self, gateway: LiveServer, *roles: str) -> httpx.Response:
        now = datetime.now(UTC)
        body = {
            "subject": {"references": {JC: "JC-4711", JA: "JA-0042"}, "age_band": "adult"},
            "given_by": [{"role": role} for role in roles],
            "grants": [{"from": JA, "to": JC, "categories": ["youth_welfare_support"],
                        "purposes": ["case_management"]}],
            "valid_from": (now - timedelta(minutes=1)).isoformat(),
            "valid_until": (now + timedelta(days=90)).isoformat(),
            "notice": {"form_id": "cross-agency-case-management", "form_version": "1",
                       "language": "de"},
            "evidence": {"channel": "paper_signed"},
        }  # fmt: skip
        return httpx.post(f"{gateway.url}/v1/consents", json=body, headers=self.headers())

    def ask(self, gateway: LiveServer) -> httpx.Response:
        return httpx.post(f"{gateway.url}/v1/exchanges", json=QUERY, headers=self.headers())


@pytest.fixture
def deployment(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    with start_live_server(database_url, tmp_path / "before") as before:
        settings = before.runtime.settings
        with start_live_server(
            database_url,
            tmp_path / "after",
            key_dir=settings.key_dir,
            issuer=settings.issuer,
            policy_dir=confided_policies(tmp_path / "policies"),
        ) as after:
            jobcentre = before.clients.agency(JC, AgencyKind.JOB_CENTRE)
            before.clients.agency(JA, AgencyKind.YOUTH_WELFARE_OFFICE)

            def gateway_keys() -> KeySet:
                return KeySet.import_key_set(
                    httpx.get(f"{before.url}/.well-known/jwks.json").json()
                )

            cases: dict[str, Any] = {"JA-0042": {"youth_welfare_support": SUPPORT}}
            system = provider_app(JA, settings.issuer, gateway_keys, cases)
            with serve_app(system) as provider_url:
                with before.runtime.database.transaction() as session:
                    session.get(Agency, JA).provider_url = provider_url
                yield Deployment(before, after, jobcentre)


def decisions(gateway: LiveServer) -> list[tuple[str | None, str | None]]:
    with gateway.runtime.database.transaction(read_only=True) as session:
        rows = session.execute(
            select(AuditEntry.decision, AuditEntry.reason)
            .where(AuditEntry.event == "exchange.decided")
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


def test_a_consent_recorded_before_the_mark_no_longer_covers_confided_data(
    deployment: Deployment,
):
    assert deployment.record(deployment.before, "data_subject").status_code == 201
    assert deployment.ask(deployment.before).status_code == 200  # nothing marked yet

    refused = deployment.ask(deployment.after)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert (problem["type"], problem["reason"]) == (
        "/problems/exchange-denied",
        "confiding_person_required",
    )
    assert "§ 65 SGB VIII" in problem["detail"]
    assert "Miriam" not in refused.text
    assert decisions(deployment.after) == [
        ("permit", None),
        ("deny", "confiding_person_required"),
    ]


def test_the_confiding_persons_consent_covers_confided_data(deployment: Deployment):
    recorded = deployment.record(deployment.after, "data_subject", "confiding_person")
    assert recorded.status_code == 201, recorded.text
    answer = deployment.ask(deployment.after)
    assert answer.status_code == 200, answer.text
    released = {field: SUPPORT[field] for field in ("support_type", "status", "lead_contact")}
    assert answer.json()["data"] == {"youth_welfare_support": released}
    assert answer.json()["consent_id"] == recorded.json()["consent_id"]


def test_the_marked_deployment_refuses_to_record_it_without_the_confiding_person(
    deployment: Deployment,
):
    refused = deployment.record(deployment.after, "data_subject")
    assert refused.status_code == 422
    assert refused.json()["reason"] == "confiding_person_required"
    assert CONFIDED_CITATION in json.dumps(refused.json()["errors"], ensure_ascii=False)
