"""The policy set as agencies and DPOs read it over HTTP, and the decision matrix it implies."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from gateway.cli.main import cli


def test_the_active_set_is_listed_with_its_digest(http: TestClient, dpo, runtime):
    answer = http.get("/v1/policies", headers=dpo).json()
    assert answer["digest"] == runtime.policies.digest
    assert len(answer["flows"]) == len(runtime.policies.flows) == 11
    assert answer["flows"][0]["from"] == "foreigners_office"


@pytest.mark.parametrize(
    ("question", "allowed", "fields"),
    [
        ({"from": "foreigners_office", "to": "job_centre", "category": "residence_status",
          "purpose": "labour_market_integration"},
         True, ["employment_permitted", "residence_obligation", "title", "valid_until"]),
        ({"from": "foreigners_office", "to": "social_office", "category": "residence_status",
          "purpose": "benefit_entitlement"}, True, ["title", "valid_until"]),
        ({"from": "job_centre", "to": "foreigners_office", "category": "benefit_status",
          "purpose": "case_management"}, False, []),
        ({"from": "foreigners_office", "to": "job_centre", "category": "residence_status",
          "purpose": "case_management", "cross_municipality": True}, False, []),
    ],
)  # fmt: skip
def test_explain_answers_from_the_flows(http: TestClient, dpo, question, allowed, fields):
    answer = http.post("/v1/policies/explain", json=question, headers=dpo).json()
    assert answer["allowed"] is allowed
    assert answer["released_fields"] == fields
    assert ("no_policy" in answer["explanation"]) is not allowed


def test_explain_refuses_unknown_kinds(http: TestClient, dpo):
    question = {"from": "police", "to": "job_centre", "category": "residence_status",
                "purpose": "case_management"}  # fmt: skip
    response = http.post("/v1/policies/explain", json=question, headers=dpo)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("loose", [0, 1, "yes", "off", "true", None])
def test_explain_takes_only_a_json_boolean_for_cross_municipality(http: TestClient, dpo, loose):
    question = {"from": "foreigners_office", "to": "job_centre", "category": "residence_status",
                "purpose": "case_management", "cross_municipality": loose}  # fmt: skip
    response = http.post("/v1/policies/explain", json=question, headers=dpo)
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"].endswith("cross_municipality")


def test_records_of_processing_list_every_flow(http: TestClient, dpo, runtime):
    records = http.get("/v1/records-of-processing", headers=dpo).json()
    assert records["policy_set_digest"] == runtime.policies.digest
    assert [a["activity"] for a in records["activities"]] == [
        f"{flow.policy_id}/{flow.id}" for flow in runtime.policies.flows
    ]
    assert all(
        (a["legal_basis"] == "consent") is (a["emergency"] is None) for a in records["activities"]
    )


def test_policy_routes_need_a_token(http: TestClient):
    assert http.get("/v1/policies").status_code == 401


def test_policy_explain_on_the_command_line():
    result = CliRunner().invoke(
        cli,
        ["policy", "explain", "--from", "job_centre", "--to", "foreigners_office",
         "--category", "integration_measures", "--purpose", "residence_procedure"],
    )  # fmt: skip
    assert result.exit_code == 0
    assert "released fields: level, status, type" in result.output
