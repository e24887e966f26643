"""Emergency flows (child protection, § 8a SGB VIII; issue 22): the loader takes them only when
they hold together, they decide emergency queries and never an ordinary one, and they say so
wherever the policy set is read (the active set, an explanation, the records of processing, the
command line)."""

from __future__ import annotations

import shutil
from itertools import product
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from consent.vocabulary import AgencyKind, Category, Purpose
from gateway.cli.main import cli
from gateway.policy.loader import META_SCHEMA, REFERENCE_POLICIES, PolicyError, load_policies
from gateway.policy.model import Emergency

REASONS = ["acute_child_endangerment", "child_whereabouts_unknown"]
MARK = {"reasons": REASONS, "max_window_hours": 72}
EMERGENCY_FLOWS = {
    "reference/abh-to-jugendamt-emergency": ("foreigners_office", "residence_status"),
    "reference/jobcenter-to-jugendamt-emergency": ("job_centre", "benefit_status"),
    "reference/sozialamt-to-jugendamt-emergency": ("social_office", "benefit_status"),
}
YOUTH, WELFARE = "youth_welfare_office", "child_and_youth_welfare"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(REFERENCE_POLICIES / META_SCHEMA, tmp_path)
    return tmp_path


def refused(folder: Path, name: str, text: str) -> PolicyError:
    (folder / name).write_text(text)
    with pytest.raises(PolicyError) as refusal:
        load_policies(folder)
    return refusal.value


# -- loading -------------------------------------------------------------------------------------


def test_the_reference_set_has_emergency_flows_to_the_youth_welfare_office_only():
    policies = load_policies(REFERENCE_POLICIES)
    found = {flow.name: flow for flow in policies.emergencies}
    assert set(found) == set(EMERGENCY_FLOWS)
    for name, (provider, category) in EMERGENCY_FLOWS.items():
        flow = found[name]
        assert (flow.provider_kind, flow.recipient_kind) == (provider, YOUTH)
        assert set(flow.fields) == {category}
        assert flow.purposes == {WELFARE}
        assert flow.emergency == Emergency(frozenset(REASONS), 72)
        assert flow.legal_basis.statute is not None
        assert flow.legal_basis.statute.startswith("§ 8a Abs. 1 SGB VIII")
        assert flow.confided is None
        assert not flow.cross_municipality
    # Every flow is still listed: records of processing and retention periods name them all.
    names = [flow.name for flow in policies.flows]
    assert sorted(names) == sorted(f.name for f in policies.ordinary + policies.emergencies)
    assert all(flow.emergency is None for flow in policies.ordinary)


EMERGENCY = (
    "policy_id: p\nversion: 1\nflows:\n  - id: f\n    from: job_centre\n    to: {to}\n"
    "    categories: {{benefit_status: [status]}}\n    purposes: [child_and_youth_welfare]\n"
    "    legal_basis: {basis}\n    retention_days: 90\n"
    "    emergency:\n{emergency}{extra}"
)  # a problem with the mark is named at its first line (12), as for the mark of confided data
STATUTE = "{statute: '§ 8a Abs. 1 SGB VIII, § 69 Abs. 1 Nr. 1 SGB X'}"
WINDOW = "      reasons: [acute_child_endangerment]\n      max_window_hours: 72\n"


@pytest.mark.parametrize(
    ("to", "basis", "emergency", "extra", "line", "problem"),
    [
        (YOUTH, "consent", WINDOW, "", 12,
         "an emergency flow cannot rest on consent"),
        ("any", STATUTE, WINDOW, "", 12,
         "an emergency flow cannot go to any kind"),
        (YOUTH, STATUTE, WINDOW, "    confided:\n      citation: '§ 65 SGB VIII'\n", 12,
         "an emergency flow cannot be marked confided"),
        (YOUTH, "consent", WINDOW, "    confided:\n      citation: '§ 65 SGB VIII'\n", 12,
         "an emergency flow cannot be marked confided"),
        (YOUTH, STATUTE, "      reasons: []\n      max_window_hours: 72\n", "", 12,
         "emergency/reasons"),
        (YOUTH, STATUTE, "      reasons: [Acute]\n      max_window_hours: 72\n", "", 12,
         "does not match"),
        (YOUTH, STATUTE, "      reasons: [ab]\n      max_window_hours: 72\n", "", 12,
         "does not match"),
        (YOUTH, STATUTE, "      reasons: [gone, gone]\n      max_window_hours: 72\n", "", 12,
         "unique"),
        (YOUTH, STATUTE, "      reasons: [gone_away]\n      max_window_hours: 0\n", "", 13,
         "less than the minimum of 1"),
        (YOUTH, STATUTE, "      reasons: [gone_away]\n      max_window_hours: 169\n", "", 13,
         "greater than the maximum of 168"),
        (YOUTH, STATUTE, "      reasons: [gone_away]\n      max_window_hours: 7.5\n", "", 13,
         "integer"),
        (YOUTH, STATUTE, "      reasons: [gone_away]\n", "", 12, "max_window_hours"),
        (YOUTH, STATUTE, WINDOW + "      default_window_hours: 24\n", "", 12,
         "default_window_hours"),
    ],
)  # fmt: skip
def test_an_emergency_flow_that_does_not_hold_is_refused_naming_file_and_line(
    folder: Path, to: str, basis: str, emergency: str, extra: str, line: int, problem: str
):
    text = EMERGENCY.format(to=to, basis=basis, emergency=emergency, extra=extra)
    refusal = refused(folder, "emergency.yaml", text)
    assert (refusal.file, refusal.line) == ("emergency.yaml", line), str(refusal)
    assert problem in str(refusal)


def test_a_well_formed_emergency_flow_is_loaded(folder: Path):
    text = EMERGENCY.format(to=YOUTH, basis=STATUTE, emergency=WINDOW, extra="")
    (folder / "emergency.yaml").write_text(text)
    (flow,) = load_policies(folder).flows
    assert flow.emergency == Emergency(frozenset({"acute_child_endangerment"}), 72)


def test_overlapping_emergency_flows_are_refused(folder: Path):
    shutil.copy(REFERENCE_POLICIES / "reference.yaml", folder)
    text = EMERGENCY.format(to=YOUTH, basis=STATUTE, emergency=WINDOW, extra="")
    refusal = refused(folder, "zz-more.yaml", text.replace("from: job_centre", "from: any"))
    assert (refusal.file, refusal.line) == ("zz-more.yaml", 4)
    assert (
        "emergency flow p/f overlaps emergency flow reference/jobcenter-to-jugendamt-emergency "
        "(in reference.yaml) for job_centre -> youth_welfare_office, benefit_status, "
        "child_and_youth_welfare"
    ) in str(refusal)
    assert "one emergency flow per case" in str(refusal)


def test_an_emergency_flow_and_an_ordinary_flow_for_the_same_case_load_side_by_side(
    folder: Path,
):
    """They are used by different requests, so neither decides what the other would."""
    shutil.copy(REFERENCE_POLICIES / "reference.yaml", folder)
    (folder / "ordinary.yaml").write_text(
        "policy_id: ordinary\nversion: 1\nflows:\n"
        "  - id: jobcenter-to-jugendamt\n    from: job_centre\n    to: youth_welfare_office\n"
        "    categories: {benefit_status: [status]}\n    purposes: [child_and_youth_welfare]\n"
        "    legal_basis: consent\n    retention_days: 30\n"
    )
    policies = load_policies(folder)
    case = ("job_centre", YOUTH, "benefit_status", WELFARE)
    ordinary = policies.flow_for(*case, same_municipality=True)
    emergency = policies.emergency_flow_for(*case, same_municipality=True)
    assert ordinary is not None
    assert ordinary.name == "ordinary/jobcenter-to-jugendamt"
    assert emergency is not None
    assert emergency.name == "reference/jobcenter-to-jugendamt-emergency"


def test_an_ordinary_flow_overlapping_an_ordinary_flow_is_still_refused(folder: Path):
    shutil.copy(REFERENCE_POLICIES / "reference.yaml", folder)
    refusal = refused(
        folder,
        "zz-more.yaml",
        "policy_id: more\nversion: 1\nflows:\n"
        "  - id: again\n    from: foreigners_office\n    to: youth_welfare_office\n"
        "    categories: {residence_status: [title]}\n    purposes: [child_and_youth_welfare]\n"
        "    legal_basis: consent\n    retention_days: 30\n",
    )
    assert (refusal.file, refusal.line) == ("zz-more.yaml", 4)
    assert "flow more/again overlaps flow reference/abh-to-jugendamt-residence" in str(refusal)


# -- lookups -------------------------------------------------------------------------------------

EVERY_CASE = list(
    product(
        [k.value for k in AgencyKind],
        [k.value for k in AgencyKind],
        [c.value for c in Category],
        [p.value for p in Purpose],
        [True, False],
    )
)


def test_ordinary_lookups_never_return_an_emergency_flow():
    """Whatever the question, the flows that decide ordinary queries, messages and consent
    grants are ordinary ones; the emergency flows cover some of these questions all the same."""
    policies = load_policies(REFERENCE_POLICIES)
    covered_by_an_emergency_flow = 0
    for provider, recipient, category, purpose, same in EVERY_CASE:
        question = (provider, recipient, category, purpose)
        flows = policies.flows_for(*question, same_municipality=same)
        assert all(flow.emergency is None for flow in flows), question
        for lookup in (policies.flow_for, policies.consent_flow):
            flow = lookup(*question, same_municipality=same)
            assert flow is None or flow.emergency is None, question
        covered_by_an_emergency_flow += any(
            flow.covers(*question) and (same or flow.cross_municipality)
            for flow in policies.emergencies
        )
    assert covered_by_an_emergency_flow == len(EMERGENCY_FLOWS)


@pytest.mark.parametrize(("name", "case"), EMERGENCY_FLOWS.items())
def test_where_an_emergency_flow_covers_a_case_ordinary_lookups_find_only_ordinary_flows(
    name, case
):
    provider, category = case
    policies = load_policies(REFERENCE_POLICIES)
    question = (provider, YOUTH, category, WELFARE)
    ordinary = policies.flow_for(*question, same_municipality=True)
    emergency = policies.emergency_flow_for(*question, same_municipality=True)
    assert emergency is not None
    assert emergency.name == name
    consent = policies.consent_flow(*question, same_municipality=True)
    if provider == "foreigners_office":  # beside its ordinary consent flow, with fewer fields
        assert ordinary is not None
        assert ordinary.name == "reference/abh-to-jugendamt-residence"
        assert ordinary.fields[category] == ("title", "valid_until")
        assert consent == ordinary
    else:
        assert ordinary is None
        assert consent is None


def test_emergency_lookups_find_only_emergency_flows():
    policies = load_policies(REFERENCE_POLICIES)
    found = {}
    for provider, recipient, category, purpose, same in EVERY_CASE:
        flow = policies.emergency_flow_for(
            provider, recipient, category, purpose, same_municipality=same
        )
        if flow is not None:
            assert flow.emergency is not None
            found[flow.name] = (provider, category)
            assert (recipient, purpose, same) == (YOUTH, WELFARE, True)
    assert found == EMERGENCY_FLOWS


def test_an_emergency_flow_across_municipalities_is_found_only_when_it_says_so(folder: Path):
    text = EMERGENCY.format(to=YOUTH, basis=STATUTE, emergency=WINDOW, extra="")
    (folder / "emergency.yaml").write_text(text)
    (folder / "wide.yaml").write_text(
        text.replace("policy_id: p", "policy_id: wide")
        .replace("from: job_centre", "from: social_office")
        .replace("retention_days: 90", "retention_days: 90\n    cross_municipality: true")
    )
    policies = load_policies(folder)
    question = (YOUTH, "benefit_status", WELFARE)
    assert policies.emergency_flow_for("job_centre", *question, same_municipality=False) is None
    wide = policies.emergency_flow_for("social_office", *question, same_municipality=False)
    assert wide is not None
    assert wide.name == "wide/f"


# -- reading the set -----------------------------------------------------------------------------

ORDINARY_CASE = {"from": "job_centre", "to": YOUTH, "category": "benefit_status",
                 "purpose": WELFARE}  # fmt: skip
BESIDE_ORDINARY = {"from": "foreigners_office", "to": YOUTH, "category": "residence_status",
                   "purpose": WELFARE}  # fmt: skip


def test_explain_over_emergency_flows_names_scope_reasons_window_and_review(http: TestClient, dpo):
    answer = http.post(
        "/v1/policies/explain", json=ORDINARY_CASE | {"emergency": True}, headers=dpo
    ).json()
    assert answer["allowed"] is True
    assert answer["released_fields"] == ["benefit", "household_size", "status"]
    explanation = answer["explanation"]
    assert "§ 8a Abs. 1 SGB VIII, § 69 Abs. 1 Nr. 1 SGB X" in explanation
    assert "exchange:emergency" in explanation
    assert "acute_child_endangerment, child_whereabouts_unknown" in explanation
    assert "at most 72 hours" in explanation
    assert "reviewed by a DPO" in explanation
    (flow,) = answer["flows"]
    assert flow["id"] == "jobcenter-to-jugendamt-emergency"
    assert flow["emergency"] == MARK


def test_explain_without_emergency_never_answers_from_an_emergency_flow(http: TestClient, dpo):
    answer = http.post("/v1/policies/explain", json=ORDINARY_CASE, headers=dpo).json()
    assert answer == {
        "allowed": False,
        "explanation": "No flow allows a job_centre giving benefit_status to a "
        "youth_welfare_office for child_and_youth_welfare: it is denied (no_policy).",
        "released_fields": [],
        "flows": [],
    }
    beside = http.post("/v1/policies/explain", json=BESIDE_ORDINARY, headers=dpo).json()
    assert beside["allowed"] is True
    assert beside["released_fields"] == ["title", "valid_until"]
    assert "consent" in beside["explanation"]
    assert "exchange:emergency" not in beside["explanation"]
    assert [(f["id"], f["emergency"]) for f in beside["flows"]] == [
        ("abh-to-jugendamt-residence", None)
    ]


def test_explain_with_emergency_never_answers_from_an_ordinary_flow(http: TestClient, dpo):
    beside = http.post(
        "/v1/policies/explain", json=BESIDE_ORDINARY | {"emergency": True}, headers=dpo
    ).json()
    assert beside["released_fields"] == ["residence_obligation", "title", "valid_until"]
    assert [f["id"] for f in beside["flows"]] == ["abh-to-jugendamt-emergency"]
    ordinary_only = {"from": "foreigners_office", "to": "job_centre",
                     "category": "residence_status", "purpose": "labour_market_integration",
                     "emergency": True}  # fmt: skip
    answer = http.post("/v1/policies/explain", json=ordinary_only, headers=dpo).json()
    assert answer["allowed"] is False
    assert answer["flows"] == []
    assert answer["explanation"].startswith("No emergency flow allows a foreigners_office")
    elsewhere = ORDINARY_CASE | {"emergency": True, "cross_municipality": True}
    across = http.post("/v1/policies/explain", json=elsewhere, headers=dpo).json()
    assert across["allowed"] is False


@pytest.mark.parametrize("loose", [0, 1, "yes", "true", None])
def test_explain_takes_only_a_json_boolean_for_emergency(http: TestClient, dpo, loose):
    response = http.post(
        "/v1/policies/explain", json=ORDINARY_CASE | {"emergency": loose}, headers=dpo
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"].endswith("emergency")


def test_the_active_set_and_the_records_of_processing_show_the_emergency_mark(
    http: TestClient, dpo
):
    flows = http.get("/v1/policies", headers=dpo).json()["flows"]
    marked = {f"{flow['policy_id']}/{flow['id']}": flow["emergency"] for flow in flows}
    assert {name: mark for name, mark in marked.items() if mark} == dict.fromkeys(
        EMERGENCY_FLOWS, MARK
    )
    records = http.get("/v1/records-of-processing", headers=dpo).json()
    activities = {a["activity"]: a for a in records["activities"]}
    assert {name for name, a in activities.items() if a["emergency"]} == set(EMERGENCY_FLOWS)
    for name in EMERGENCY_FLOWS:
        assert activities[name]["emergency"] == MARK
        assert activities[name]["legal_basis"].startswith("statute: § 8a Abs. 1 SGB VIII")
        assert activities[name]["receiving_kind"] == YOUTH
        assert activities[name]["retention_days"] == 90


def test_policy_check_marks_the_emergency_flows():
    checked = CliRunner().invoke(cli, ["policy", "check", str(REFERENCE_POLICIES)])
    assert checked.exit_code == 0, checked.output
    marked = [line for line in checked.output.splitlines() if line.startswith("emergency: ")]
    assert [line.split()[1] for line in marked] == list(EMERGENCY_FLOWS)
    assert all(
        "reasons acute_child_endangerment, child_whereabouts_unknown, window at most 72 hours, "
        "each use reviewed by a DPO" in line
        for line in marked
    )


def test_policy_explain_on_the_command_line_with_and_without_emergency(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.delenv("GATEWAY_POLICY_DIR", raising=False)
    question = ["policy", "explain", "--from", "job_centre", "--to", YOUTH,
                "--category", "benefit_status", "--purpose", WELFARE]  # fmt: skip
    ordinary = CliRunner().invoke(cli, question)
    assert ordinary.exit_code == 0, ordinary.output
    assert "it is denied (no_policy)" in ordinary.output
    assert "emergency" not in ordinary.output
    emergency = CliRunner().invoke(cli, [*question, "--emergency"])
    assert emergency.exit_code == 0, emergency.output
    assert "exchange:emergency" in emergency.output
    assert "released fields: benefit, household_size, status" in emergency.output
    assert (
        "flow: reference/jobcenter-to-jugendamt-emergency "
        "(retention 90 days, emergency: window at most 72 hours)"
    ) in emergency.output
