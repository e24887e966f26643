"""A flow marked as carrying confided data (§ 65 SGB VIII) says so wherever the policy set is
read: the active set, an explanation (over HTTP and on the command line) and the records of
processing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from gateway.cli.main import cli
from gateway.settings import Settings
from tests.support import CONFIDED_CITATION, CONFIDED_FLOW, confided_policies

MARK = {"citation": CONFIDED_CITATION, "categories": ["youth_welfare_support"]}
QUESTION = {"from": "youth_welfare_office", "to": "job_centre",
            "category": "youth_welfare_support", "purpose": "case_management"}  # fmt: skip


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    return confided_policies(tmp_path / "policies")


@pytest.fixture
def settings(settings: Settings, policy_dir: Path) -> Settings:
    return settings.model_copy(update={"policy_dir": policy_dir})


def test_the_active_set_shows_which_flow_carries_confided_data(http: TestClient, dpo):
    flows = {flow["id"]: flow for flow in http.get("/v1/policies", headers=dpo).json()["flows"]}
    assert flows[CONFIDED_FLOW]["confided"] == MARK
    assert all(flow["confided"] is None for name, flow in flows.items() if name != CONFIDED_FLOW)


def test_the_records_of_processing_show_the_confided_data_and_its_rule(http: TestClient, dpo):
    records = http.get("/v1/records-of-processing", headers=dpo).json()
    marked = {a["activity"]: a["confided"] for a in records["activities"] if a["confided"]}
    assert marked == {f"reference/{CONFIDED_FLOW}": MARK}


def test_an_explanation_says_only_the_confiding_persons_consent_covers_it(http: TestClient, dpo):
    answer = http.post("/v1/policies/explain", json=QUESTION, headers=dpo).json()
    assert answer["allowed"] is True
    assert f"The data is confided ({CONFIDED_CITATION})" in answer["explanation"]
    assert "confiding_person among given_by" in answer["explanation"]
    assert answer["flows"][0]["confided"] == MARK
    other = dict(QUESTION, **{"from": "foreigners_office", "category": "residence_status"})
    plain = http.post("/v1/policies/explain", json=other, headers=dpo).json()
    assert "confided" not in plain["explanation"]
    assert plain["flows"][0]["confided"] is None


def test_policy_explain_on_the_command_line_names_the_rule(
    policy_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("GATEWAY_POLICY_DIR", str(policy_dir))
    result = CliRunner().invoke(
        cli,
        ["policy", "explain", "--from", "youth_welfare_office", "--to", "job_centre",
         "--category", "youth_welfare_support", "--purpose", "case_management"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"The data is confided ({CONFIDED_CITATION})" in result.output
    assert f"(retention 180 days, confided: {CONFIDED_CITATION})" in result.output
