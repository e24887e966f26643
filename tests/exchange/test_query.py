"""Queries end to end over real HTTP: the gateway and a reference provider as uvicorn servers.

The job centre asks the foreigners' office for a person's residence status: with a consent it
gets exactly the released fields; without one, or after a withdrawal, it is refused; a faulty
provider passes nothing on. Every decision is audited."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.responses import RedirectResponse
from joserfc.jwk import KeySet
from sqlalchemy import select

from consent.vocabulary import AgencyKind
from gateway.agencies.tables import Agency
from gateway.audit.tables import AuditEntry
from gateway.release.tables import Release
from gateway.simulator.app import provider_app
from tests.support import (
    LiveServer,
    client_assertion,
    free_port,
    serve_app,
    start_live_server,
    token_form,
)

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
        clients = gateway.clients
        self.abh = clients.agency(ABH, AgencyKind.FOREIGNERS_OFFICE)
        self.jc = clients.agency(JC, AgencyKind.JOB_CENTRE)

    def token(self, agency) -> dict[str, str]:
        endpoint = self.gateway.token_endpoint
        form = token_form(client_assertion(agency.id, agency.key, endpoint))
        token = httpx.post(endpoint, data=form).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: dict[str, Any], agency) -> httpx.Response:
        return httpx.post(
            f"{self.gateway.url}{path}", json=body, headers=self.token(agency), timeout=30
        )

    def record_consent(
        self,
        categories: tuple[str, ...] = ("residence_status",),
        purposes: tuple[str, ...] = ("labour_market_integration",),
    ) -> str:
        now = datetime.now(UTC)
        body = {
            "subject": {"references": {JC: "JC-4711", ABH: "ABH-0815"}},
            "given_by": [{"role": "data_subject"}],
            "grants": [{"from": ABH, "to": JC, "categories": list(categories),
                        "purposes": list(purposes)}],
            "valid_from": (now - timedelta(minutes=1)).isoformat(),
            "valid_until": (now + timedelta(days=90)).isoformat(),
            "notice": {"form_id": FORM, "form_version": "1", "language": "tr"},
            "evidence": {"channel": "in_person_recorded"},
        }  # fmt: skip
        response = self.post("/v1/consents", body, self.jc)
        assert response.status_code == 201, response.text
        return str(response.json()["consent_id"])

    def ask(
        self,
        purpose: str = "labour_market_integration",
        reference: str = "JC-4711",
        categories: tuple[str, ...] = ("residence_status",),
    ):
        body = {
            "provider": ABH,
            "subject_ref": reference,
            "categories": list(categories),
            "purpose": purpose,
        }
        return self.post("/v1/exchanges", body, self.jc)

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


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    cases: dict[str, Any] = {"ABH-0815": {"residence_status": dict(RESIDENCE)}}
    with start_live_server(database_url, tmp_path / "gateway", provider_timeout=1.0) as gateway:
        jwks_url = f"{gateway.url}/.well-known/jwks.json"

        def gateway_keys() -> KeySet:
            return KeySet.import_key_set(httpx.get(jwks_url).json())

        app = provider_app(ABH, gateway.runtime.settings.issuer, gateway_keys, cases)

        @app.post("/broken/gateway/v1/fetch")
        def broken() -> dict[str, Any]:
            raise RuntimeError("the provider's system fails")

        @app.post("/slow/gateway/v1/fetch")
        def slow() -> dict[str, Any]:
            time.sleep(3)
            return {}

        @app.post("/moved/gateway/v1/fetch")
        def moved() -> RedirectResponse:
            # Where the real answer is: a gateway that followed would get released fields.
            return RedirectResponse(f"{provider_url}/gateway/v1/fetch", status_code=307)

        with serve_app(app) as provider_url:
            built = World(gateway, cases)
            with gateway.runtime.database.transaction() as session:
                session.get(Agency, ABH).provider_url = provider_url
            yield built


def test_a_consented_query_returns_exactly_the_released_fields(world: World):
    consent_id = world.record_consent()
    response = world.ask()
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer["data"]["residence_status"]) == RELEASED
    assert answer["data"]["residence_status"]["title"] == "residence_permit"
    assert answer["legal_basis"] == "consent"
    assert answer["consent_id"] == consent_id
    assert "§ 25" not in response.text  # legal_provision is not released to the job centre
    assert world.audit() == [("permit", None)]
    with world.gateway.runtime.database.transaction(read_only=True) as session:
        assert session.scalars(select(Release).where(Release.id == answer["exchange_id"])).all()


def test_a_query_for_several_categories_releases_each_under_its_own_flow(world: World):
    world.cases["ABH-0815"]["case_contact"] = dict(CONTACT)
    both = ("residence_status", "case_contact")
    consent_id = world.record_consent(categories=both, purposes=("case_management",))
    response = world.ask(purpose="case_management", categories=both)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer["data"]["residence_status"]) == RELEASED
    assert answer["data"]["case_contact"] == CONTACT  # the flow releases all of its fields
    bases = answer["bases"]
    assert {bases[category]["consent_id"] for category in both} == {consent_id}
    assert bases["residence_status"]["policy_flow"] != bases["case_contact"]["policy_flow"]
    assert world.audit() == [("permit", None), ("permit", None)]  # an entry per category
    with world.gateway.runtime.database.transaction(read_only=True) as session:
        released = session.execute(
            select(Release.category, Release.consent_id).where(Release.id == answer["exchange_id"])
        ).all()
    assert sorted(tuple(row) for row in released) == [
        ("case_contact", consent_id),
        ("residence_status", consent_id),
    ]


def test_one_category_not_covered_refuses_the_whole_query(world: World):
    world.cases["ABH-0815"]["case_contact"] = dict(CONTACT)
    world.record_consent(purposes=("case_management",))  # residence status only
    response = world.ask(purpose="case_management", categories=("residence_status", "case_contact"))
    assert response.status_code == 403
    assert response.json()["reason"] == "category_not_covered"
    assert "data" not in response.json()
    assert world.audit() == [("deny", "category_not_covered")]


def test_without_a_consent_the_query_is_refused_and_audited(world: World):
    response = world.ask()
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["reason"] == "unknown_subject"
    world.record_consent()
    wrong_purpose = world.ask(purpose="case_management")
    assert wrong_purpose.json()["reason"] == "purpose_not_covered"
    assert world.audit() == [("deny", "unknown_subject"), ("deny", "purpose_not_covered")]


def test_after_a_withdrawal_the_same_query_is_denied_and_the_recipient_notified(world: World):
    consent_id = world.record_consent()
    first = world.ask().json()["exchange_id"]
    withdrawn = world.post(
        f"/v1/consents/{consent_id}/withdraw", {"channel": "in_person"}, world.abh
    )
    assert withdrawn.status_code == 200
    again = world.ask()
    assert again.status_code == 403
    assert again.json()["reason"] == "consent_withdrawn"
    notices = httpx.get(f"{world.gateway.url}/v1/notices", headers=world.token(world.jc)).json()
    assert notices["notices"][0]["exchanges"] == [first]


def test_an_invalid_provider_answer_is_not_passed_on(world: World):
    world.record_consent()
    world.cases["ABH-0815"]["residence_status"]["passport_number"] = "C01X00T47"
    response = world.ask()
    assert response.status_code == 502
    assert response.json()["reason"] == "provider_invalid_response"
    assert "C01X00T47" not in response.text
    assert world.audit() == [("deny", "provider_invalid_response")]


def test_a_provider_that_does_not_answer_in_time_gives_504(world: World):
    world.record_consent()
    world.provider_at("slow")
    response = world.ask()
    assert response.status_code == 504
    assert response.json()["reason"] == "provider_timeout"


def test_an_unreachable_provider_gives_502(world: World):
    world.record_consent()
    with world.gateway.runtime.database.transaction() as session:
        session.get(Agency, ABH).provider_url = f"http://127.0.0.1:{free_port()}"
    response = world.ask()
    assert response.status_code == 502
    assert response.json()["reason"] == "provider_unreachable"


def test_the_sdk_records_queries_withdraws_and_reads_notices(world: World):
    from gateway.client import AgencyKey, ExchangeDenied, GatewayClient, InvalidRequest, TokenSource

    tokens = TokenSource(world.gateway.token_endpoint, AgencyKey(JC, world.jc.key))
    with GatewayClient(world.gateway.url, tokens, caseworker="cw-9") as jobcenter:
        consent_id = world.record_consent()
        answer = jobcenter.query(ABH, "JC-4711", ["residence_status"], "labour_market_integration")
        assert set(answer["data"]["residence_status"]) == RELEASED
        jobcenter.withdraw(consent_id, "written")
        with pytest.raises(ExchangeDenied) as denied:
            jobcenter.query(ABH, "JC-4711", ["residence_status"], "labour_market_integration")
        assert denied.value.reason == "consent_withdrawn"
        (notice,) = jobcenter.notices()
        assert notice["exchanges"] == [answer["exchange_id"]]
        assert jobcenter.acknowledge(notice["notice_id"], "deleted")["outcome"] == "deleted"
        with pytest.raises(InvalidRequest) as invalid:
            jobcenter.query(ABH, "JC-4711", ["passport"], "labour_market_integration")
        assert invalid.value.errors


def test_a_provider_error_gives_502_and_passes_nothing_on(world: World):
    world.record_consent()
    world.provider_at("broken")
    response = world.ask()
    assert response.status_code == 502
    assert response.json()["reason"] == "provider_invalid_response"
    assert world.audit() == [("deny", "provider_invalid_response")]


def test_a_provider_redirect_is_not_followed(world: World):
    world.record_consent()
    world.provider_at("moved")
    response = world.ask()
    assert response.status_code == 502
    assert response.json()["reason"] == "provider_invalid_response"
    assert "residence_permit" not in response.text
    assert world.audit() == [("deny", "provider_invalid_response")]
