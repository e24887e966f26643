"""One person's access report, without any agency's file reference, and who may read the
audit API at all."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.runtime import Runtime
from tests.audit.dpo_api.seeded import (  # log: the shared fixture
    ABH,
    JOBCENTER,
    REFERENCES,
    SOZIALAMT,
    Log,
    assert_problem,
    bearer,
    entries,
    publish,
    record,
    token_for,
    unsubjected_denial,
)
from tests.support import Clients

# -- access report ---------------------------------------------------------------------------


def access_report(http: TestClient, log: Log, agency: str, reference: str) -> Any:
    return http.get(
        "/v1/audit/access-report",
        params={"agency": agency, "subject_ref": reference},
        headers=log.dpo,
    )


def consent_ids(log: Log, person: str) -> list[str | None]:
    wanted = {
        "r0": "c-amina", "r1": "c-amina", "r2": None, "r3": None, "r4": "c-amina",
        "r5": "c-oleks", "r6": None, "r7": None,
    }  # fmt: skip
    return [wanted[request] for request, about in log.about.items() if about == person]


@pytest.mark.parametrize(
    ("person", "agency"),
    [("amina", JOBCENTER), ("amina", ABH), ("amina", SOZIALAMT), ("oleksandr", SOZIALAMT)],
)
def test_the_access_report_lists_the_persons_records_and_nobody_elses(
    http: TestClient, log: Log, runtime: Runtime, person: str, agency: str
):
    publish(runtime)
    response = access_report(http, log, agency, REFERENCES[person][agency])
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["agency"] == agency
    mine = [request for request, about in log.about.items() if about == person]
    assert len(report["records"]) == len(mine)
    assert [record["consent_id"] for record in report["records"]] == consent_ids(log, person)
    times = [datetime.fromisoformat(record["time"]) for record in report["records"]]
    assert times == sorted(times)


def test_the_access_report_says_who_asked_what_for_which_purpose_and_the_outcome(
    http: TestClient, log: Log, runtime: Runtime
):
    response = access_report(http, log, JOBCENTER, REFERENCES["oleksandr"][JOBCENTER])
    records = response.json()["records"]
    # The caseworker as the acting agency's keyed pseudonym, never the id the agency sent.
    at_sozialamt, at_jobcenter = (
        runtime.audit.digests.caseworker(agency, "cw-7f3a") for agency in (SOZIALAMT, JOBCENTER)
    )
    assert [
        (r["event"], r["requester"], r["provider"], r["categories"], r["purpose"], r["decision"],
         r["reason"], r["caseworker"])
        for r in records
    ] == [
        ("exchange.decided", SOZIALAMT, JOBCENTER, ["benefit_status"], "benefit_entitlement",
         "deny", "no_consent", at_sozialamt),
        ("exchange.decided", JOBCENTER, SOZIALAMT, ["benefit_status", "case_contact"],
         "case_management", "permit", None, at_jobcenter),
    ]  # fmt: skip
    assert "cw-7f3a" not in response.text
    assert records[1]["legal_basis"] == "consent"


def test_the_access_report_never_contains_a_file_reference(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    every_reference = [ref for refs in REFERENCES.values() for ref in refs.values()]
    for person, references in REFERENCES.items():
        for agency, reference in references.items():
            response = access_report(http, log, agency, reference)
            assert response.status_code == 200, response.text
            assert response.json()["records"], (person, agency)
            for leaked in every_reference:
                assert leaked not in response.text, (person, agency, leaked)
            assert log.subjects[person] not in response.text


@pytest.mark.parametrize(
    ("agency", "reference"),
    [
        (JOBCENTER, "JC-2024-999999"),
        # Another agency's reference of a known person is not this agency's reference.
        (JOBCENTER, REFERENCES["amina"][ABH]),
        ("koeln-jugendamt", REFERENCES["amina"][JOBCENTER]),
    ],
)
def test_an_unknown_reference_is_a_404_problem(
    http: TestClient, log: Log, agency: str, reference: str
):
    response = access_report(http, log, agency, reference)
    assert_problem(response, 404, "/problems/unknown-subject")
    assert reference not in response.text


def test_looking_through_the_api_is_recorded_under_the_persons_pseudonym(
    http: TestClient, log: Log, runtime: Runtime
):
    reference = REFERENCES["oleksandr"][SOZIALAMT]
    first = access_report(http, log, SOZIALAMT, reference).json()["records"]
    (looked,) = entries(http, log, event="dpo.access_report")
    assert looked["actor"] == "city-dpo"
    assert looked["subject"] == runtime.audit.pseudonymizer.pseudonym(log.subjects["oleksandr"])
    assert looked["details"] == {"agency": SOZIALAMT, "records": len(first)}
    assert reference not in str(looked)

    # The person's next report, asked by another agency's reference, shows the look.
    later = access_report(http, log, JOBCENTER, REFERENCES["oleksandr"][JOBCENTER])
    assert [record["event"] for record in later.json()["records"]] == [
        *(record["event"] for record in first),
        "dpo.access_report",
    ]


def test_an_unknown_reference_records_no_look(http: TestClient, log: Log):
    response = access_report(http, log, JOBCENTER, "JC-2024-999999")
    assert response.status_code == 404
    assert entries(http, log, event="dpo.access_report") == []


def test_a_long_report_lets_other_writers_go_on(
    http: TestClient, log: Log, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
):
    """While the report reads (however long that takes), exchanges must be able to write: on
    SQLite a writing transaction around the read would hold the one write lock."""
    from gateway.audit import access

    reading = access._records
    written: list[bool] = []

    def read_while_another_writes(*args: Any, **kwargs: Any) -> Any:
        def write() -> None:
            record(runtime, (unsubjected_denial("during-report"), datetime.now(UTC)))
            written.append(True)

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=5)
        assert written, "a writer waited for the report"
        return reading(*args, **kwargs)

    monkeypatch.setattr(access, "_records", read_while_another_writes)
    response = access_report(http, log, JOBCENTER, REFERENCES["amina"][JOBCENTER])
    assert response.status_code == 200, response.text
    assert written == [True]


def test_a_report_whose_look_cannot_be_recorded_is_not_shown(
    http: TestClient, log: Log, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
):
    def failing(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database refused the write")

    monkeypatch.setattr(runtime.audit, "record", failing)
    response = access_report(http, log, JOBCENTER, REFERENCES["amina"][JOBCENTER])
    assert response.status_code == 500
    assert "exchange.decided" not in response.text


# -- who may read ----------------------------------------------------------------------------

AUDIT_ROUTES = [
    ("/v1/audit/entries", {}),
    ("/v1/audit/checkpoint", {}),
    ("/v1/audit/key", {}),
    ("/v1/audit/proofs/inclusion", {"index": 0, "tree_size": 1}),
    ("/v1/audit/proofs/consistency", {"first": 1, "second": 1}),
    ("/v1/audit/export", {"format": "jsonl"}),
    ("/v1/audit/export", {"format": "csv"}),
    (
        "/v1/audit/access-report",
        {"agency": JOBCENTER, "subject_ref": REFERENCES["amina"][JOBCENTER]},
    ),
]


@pytest.mark.parametrize(("path", "params"), AUDIT_ROUTES)
def test_an_agency_token_is_refused_with_403(
    http: TestClient, log: Log, runtime: Runtime, path: str, params: dict[str, Any]
):
    publish(runtime)
    token = token_for(http, log.agency)
    response = http.get(path, params=params, headers=bearer(token))
    assert_problem(response, 403, "/problems/insufficient-scope")
    assert REFERENCES["amina"][JOBCENTER] not in response.text


@pytest.mark.parametrize(("path", "params"), AUDIT_ROUTES)
def test_a_dpo_token_narrowed_to_policy_read_is_refused_with_403(
    http: TestClient, log: Log, clients: Clients, path: str, params: dict[str, Any]
):
    token = token_for(http, clients.registered["city-dpo"], scope="policy:read")
    response = http.get(path, params=params, headers=bearer(token))
    assert_problem(response, 403, "/problems/insufficient-scope")


@pytest.mark.parametrize(("path", "params"), AUDIT_ROUTES)
def test_no_token_is_refused_with_401(
    http: TestClient, log: Log, runtime: Runtime, path: str, params: dict[str, Any]
):
    publish(runtime)
    response = http.get(path, params=params)
    assert_problem(response, 401, "/problems/invalid-token")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_refused_export_is_not_recorded_as_an_export(
    http: TestClient, log: Log, runtime: Runtime
):
    token = token_for(http, log.agency)
    http.get("/v1/audit/export", params={"format": "jsonl"}, headers=bearer(token))
    http.get("/v1/audit/export", params={"format": "jsonl"})
    assert entries(http, log, event="audit.exported") == []
