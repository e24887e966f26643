"""Policy files are data a DPO reviews: the reference set loads, a broken file is refused with
its file and line named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli.main import cli
from gateway.policy.loader import PolicyError, load_policies
from gateway.policy.model import Confided
from tests.support import CONFIDED_CITATION, CONFIDED_FLOW, confided_policies

REFERENCE = Path(__file__).parents[2] / "policies"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(REFERENCE / "policy.schema.json", tmp_path)
    return tmp_path


def test_the_reference_set_loads_with_a_stable_digest():
    first, again = load_policies(REFERENCE), load_policies(REFERENCE)
    assert first.digest == again.digest
    assert len(first.digest) == 64
    assert all(flow.legal_basis.is_consent for flow in first.ordinary)
    assert all(not flow.legal_basis.is_consent for flow in first.emergencies)


@pytest.mark.parametrize(
    ("provider", "recipient", "category", "purpose", "fields"),
    [
        ("foreigners_office", "job_centre", "residence_status", "labour_market_integration",
         ("title", "valid_until", "employment_permitted", "residence_obligation")),
        ("foreigners_office", "social_office", "residence_status", "benefit_entitlement",
         ("title", "valid_until")),
        ("job_centre", "foreigners_office", "integration_measures", "residence_procedure",
         ("type", "status", "level")),
        ("youth_welfare_office", "job_centre", "youth_welfare_support", "case_management",
         ("support_type", "status", "lead_contact")),
        ("social_office", "youth_welfare_office", "case_conference", "case_management",
         ("starts_at", "location", "topic", "participants")),
    ],
)  # fmt: skip
def test_the_reference_set_releases_only_the_named_fields(
    provider, recipient, category, purpose, fields
):
    flow = load_policies(REFERENCE).consent_flow(
        provider, recipient, category, purpose, same_municipality=True
    )
    assert flow is not None
    assert flow.fields[category] == fields


@pytest.mark.parametrize(
    ("provider", "recipient", "category", "purpose"),
    [
        ("job_centre", "foreigners_office", "benefit_status", "case_management"),  # no such flow
        ("foreigners_office", "job_centre", "residence_status", "benefit_entitlement"),  # purpose
        ("foreigners_office", "social_office", "residence_status", "labour_market_integration"),
    ],
)
def test_what_no_flow_allows_is_denied(provider, recipient, category, purpose):
    assert (
        load_policies(REFERENCE).consent_flow(
            provider, recipient, category, purpose, same_municipality=True
        )
        is None
    )


def test_flows_stay_within_one_municipality_unless_they_say_otherwise():
    policies = load_policies(REFERENCE)
    assert policies.consent_flow(
        "foreigners_office", "job_centre", "residence_status", "case_management",
        same_municipality=False,
    ) is None  # fmt: skip


def test_a_statute_flow_is_loaded_with_its_citation(folder: Path):
    (folder / "statute.yaml").write_text(
        "policy_id: statute\nversion: 1\nflows:\n"
        "  - id: abh-to-jobcenter-by-law\n    from: foreigners_office\n    to: job_centre\n"
        "    categories: {residence_status: [title]}\n    purposes: [residence_procedure]\n"
        "    legal_basis: {statute: '§ 87 Abs. 1 AufenthG'}\n    retention_days: 30\n"
    )
    (flow,) = load_policies(folder).flows
    assert flow.legal_basis.statute == "§ 87 Abs. 1 AufenthG"
    assert not flow.legal_basis.is_consent


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("policy_id: p\nversion: 1\nflows:\n  - id: f\n    from: foreigners_office\n"
         "    to: job_centre\n    categories: {passport_scan: [number]}\n"
         "    purposes: [case_management]\n    legal_basis: consent\n    retention_days: 5\n",
         7, "passport_scan"),
        ("policy_id: p\nversion: 1\nflows:\n  - id: f\n    from: immigration_police\n"
         "    to: job_centre\n    categories: {residence_status: [title]}\n"
         "    purposes: [case_management]\n    legal_basis: consent\n    retention_days: 5\n",
         5, "immigration_police"),
        ("policy_id: p\nversion: 1\nflows:\n  - id: f\n    from: foreigners_office\n"
         "    to: job_centre\n    categories: {residence_status: [title]}\n"
         "    purposes: [marketing]\n    legal_basis: consent\n    retention_days: 5\n",
         8, "marketing"),
        ("policy_id: p\nversion: 1\nflows:\n  - id: f\n    from: foreigners_office\n"
         "    to: job_centre\n    categories: {residence_status: [title]}\n"
         "    purposes: [case_management]\n    retention_days: 5\n",
         4, "legal_basis"),
        ("policy_id: p\nversion: 1\nflows: [\n", 4, "not valid YAML"),
    ],
)  # fmt: skip
def test_an_invalid_file_is_refused_naming_file_line_and_problem(
    folder: Path, text: str, line: int, problem: str
):
    (folder / "broken.yaml").write_text(text)
    with pytest.raises(PolicyError) as refused:
        load_policies(folder)
    assert refused.value.file == "broken.yaml"
    assert refused.value.line == line
    assert problem in str(refused.value)


ONE_FLOW = (
    "policy_id: p\nversion: 1\nflows:\n  - id: f\n    from: {kind}\n    to: job_centre\n"
    "    categories: {{{category}: [title]}}\n    purposes: [case_management]\n"
    "    legal_basis: consent\n    retention_days: 5\n"
)


@pytest.mark.parametrize(
    ("kind", "category", "allowed"),
    [
        ("immigration_police", "residence_status", ["foreigners_office", "social_office", "any"]),
        ("foreigners_office", "passport_scan", ["residence_status", "case_conference"]),
    ],
)
def test_a_value_outside_a_list_is_refused_naming_every_allowed_value(
    folder: Path, kind: str, category: str, allowed: list[str]
):
    (folder / "broken.yaml").write_text(ONE_FLOW.format(kind=kind, category=category))
    with pytest.raises(PolicyError) as refused:
        load_policies(folder)
    for value in allowed:
        assert f'"{value}"' in str(refused.value)


def test_a_flow_defined_twice_is_refused(folder: Path):
    flow = (
        "policy_id: p\nversion: 1\nflows:\n  - id: same\n    from: any\n    to: any\n"
        "    categories: {case_contact: [phone]}\n    purposes: [case_management]\n"
        "    legal_basis: consent\n    retention_days: 5\n"
    )
    (folder / "a.yaml").write_text(flow)
    (folder / "b.yaml").write_text(flow)
    with pytest.raises(PolicyError, match="also defined"):
        load_policies(folder)


def test_policy_check_reports_valid_and_invalid_folders(folder: Path):
    valid = CliRunner().invoke(cli, ["policy", "check", str(REFERENCE)])
    assert valid.exit_code == 0
    assert "valid: 11 flows" in valid.output
    (folder / "broken.yaml").write_text("policy_id: p\nversion: 1\nflows: []\n")
    invalid = CliRunner().invoke(cli, ["policy", "check", str(folder)])
    assert invalid.exit_code == 1
    assert "broken.yaml:3" in invalid.output


def test_overlapping_flows_are_refused_so_released_fields_never_depend_on_file_order(
    folder: Path,
):
    """An operator's second file releasing more to the same recipient for the same purpose:
    which fields went out would depend on which file sorts first."""
    shutil.copy(REFERENCE / "reference.yaml", folder)
    (folder / "zz-more.yaml").write_text(
        "policy_id: more\nversion: 1\nflows:\n"
        "  - id: generous\n    from: any\n    to: job_centre\n"
        "    categories: {residence_status: [title, legal_provision, valid_until]}\n"
        "    purposes: [labour_market_integration]\n"
        "    legal_basis: consent\n    retention_days: 5\n"
    )
    with pytest.raises(PolicyError) as refused:
        load_policies(folder)
    assert refused.value.file == "zz-more.yaml"
    assert refused.value.line == 4
    assert "overlaps flow reference/abh-to-jobcenter-residence" in str(refused.value)
    assert "foreigners_office -> job_centre, residence_status" in str(refused.value)


def test_flows_for_other_purposes_or_kinds_do_not_overlap(folder: Path):
    shutil.copy(REFERENCE / "reference.yaml", folder)
    (folder / "statute.yaml").write_text(
        "policy_id: statute\nversion: 1\nflows:\n"
        "  - id: abh-to-jobcenter-by-law\n    from: foreigners_office\n    to: job_centre\n"
        "    categories: {residence_status: [title]}\n    purposes: [residence_procedure]\n"
        "    legal_basis: {statute: '§ 87 Abs. 1 AufenthG'}\n    retention_days: 30\n"
    )
    assert len(load_policies(folder).flows) == 12


def test_a_flow_marked_confided_covers_all_its_categories_or_those_it_names(tmp_path: Path):
    whole = load_policies(confided_policies(tmp_path / "whole"))
    (flow,) = [flow for flow in whole.flows if flow.id == CONFIDED_FLOW]
    assert flow.confided == Confided(CONFIDED_CITATION, frozenset({"youth_welfare_support"}))
    assert flow.confided_in("youth_welfare_support") == flow.confided
    assert all(other.confided is None for other in whole.flows if other is not flow)

    some = load_policies(
        confided_policies(tmp_path / "some", "case-contacts-and-conferences", ["case_contact"])
    )
    (flow,) = [flow for flow in some.flows if flow.id == "case-contacts-and-conferences"]
    assert flow.confided_in("case_contact") is not None
    assert flow.confided_in("case_conference") is None
    assert some.digest != whole.digest != load_policies(REFERENCE).digest


MARKED = (
    "policy_id: p\nversion: 1\nflows:\n  - id: f\n    from: youth_welfare_office\n"
    "    to: job_centre\n    categories: {{youth_welfare_support: [status]}}\n"
    "    purposes: [case_management]\n    legal_basis: {basis}\n    retention_days: 5\n"
    "    confided:\n{confided}"
)


@pytest.mark.parametrize(
    ("basis", "confided", "line", "problem"),
    [
        ("{statute: '§ 65 Abs. 1 Satz 1 Nr. 2 SGB VIII'}", "      citation: '§ 65 SGB VIII'\n",
         12, "only a flow whose legal_basis is consent can be marked confided"),
        ("consent", "      citation: '§ 65 SGB VIII'\n      categories: [case_contact]\n",
         12, "confided names case_contact, which the flow does not release"),
        ("consent", "      categories: [youth_welfare_support]\n", 12, "citation"),
        ("consent", "      citation: ''\n", 12, "shorter than 3 characters"),
        ("consent", "      citation: '§ 65 SGB VIII'\n      categories: [counselling_notes]\n",
         13, '"counselling_notes" is not one of'),
        ("consent", "      citation: '§ 65 SGB VIII'\n      confiding_person: optional\n",
         12, "confiding_person"),
    ],
)  # fmt: skip
def test_a_mark_of_confided_data_that_does_not_hold_is_refused_naming_file_and_line(
    folder: Path, basis: str, confided: str, line: int, problem: str
):
    (folder / "marked.yaml").write_text(MARKED.format(basis=basis, confided=confided))
    with pytest.raises(PolicyError) as refused:
        load_policies(folder)
    assert (refused.value.file, refused.value.line) == ("marked.yaml", line)
    assert problem in str(refused.value)


def test_policy_check_names_the_flows_that_carry_confided_data(tmp_path: Path):
    checked = CliRunner().invoke(cli, ["policy", "check", str(confided_policies(tmp_path))])
    assert checked.exit_code == 0, checked.output
    assert (
        f"confided: reference/{CONFIDED_FLOW} youth_welfare_support ({CONFIDED_CITATION}): "
        "only with the confiding person's consent"
    ) in checked.output
    reference = CliRunner().invoke(cli, ["policy", "check", str(REFERENCE)])
    assert "confided" not in reference.output
