"""Queries end to end over real HTTP: the gateway and a reference provider as uvicorn servers.

The job centre asks the foreigners' office for a person's residence status: with a consent it
gets exactly the released fields; without one, or after a withdrawal, it is refused; a faulty
provider passes nothing on. Every decision is audited."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from gateway.agencies.tables import Agency
from gateway.release.tables import Release
from tests.exchange.world import ABH, CONTACT, JC, RELEASED, World
from tests.support import free_port


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
