"""GET /v1/indicators: the computed months as JSON or CSV for the monitoring office only, bad
requests refused with a problem and nothing changed, every read audited, no personal data."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gateway.agencies.tables import ClientRole
from gateway.audit.service import decode
from gateway.audit.tables import AuditEntry
from gateway.monitoring.aggregation import aggregate_month
from gateway.monitoring.periods import Month
from gateway.runtime import Runtime
from tests.audit.dpo_api.seeded import assert_problem, bearer, token_for
from tests.monitoring.history import AGENCIES, CASEWORKER, History, reference
from tests.support import Clients

MARCH = Month(2025, 3)
PERIOD = {"from": "2025-02", "to": "2025-04"}


@pytest.fixture
def published(runtime: Runtime, march: History) -> History:
    """The known March, computed with threshold 2 (April and February are not computed)."""
    assert aggregate_month(runtime.database, runtime.audit, runtime.policies, MARCH, 2)
    return march


def get(http: TestClient, headers: dict[str, str], **params: str) -> Any:
    return http.get("/v1/indicators", params=params, headers=headers)


def entry_count(runtime: Runtime) -> int:
    with runtime.database.transaction(read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def figure(body: dict[str, Any], indicator: str, **where: Any) -> dict[str, Any]:
    (found,) = [
        f
        for f in body["figures"]
        if f["indicator"] == indicator and all(f[k] == v for k, v in where.items())
    ]
    return found


# -- answers ----------------------------------------------------------------------------------


def test_json_lists_the_months_and_the_figures_of_computed_ones(
    http: TestClient, office: dict[str, str], published: History
):
    response = get(http, office, **PERIOD)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert (body["from"], body["to"], body["municipality"]) == ("2025-02", "2025-04", None)
    assert [(m["month"], m["status"], m["threshold"]) for m in body["months"]] == [
        ("2025-02", "pending", None),
        ("2025-03", "published", 2),
        ("2025-04", "pending", None),
    ]
    assert {f["month"] for f in body["figures"]} == {"2025-03"}
    recorded = figure(body, "consents_recorded", municipality="koeln", agency_kind="job_centre")
    assert (recorded["value"], recorded["status"]) == (4, "published")
    total = figure(body, "consents_recorded", municipality=None, agency_kind=None)
    assert total["value"] == 8
    suppressed = figure(body, "denials", municipality="koeln", reason="unknown_subject")
    assert (suppressed["value"], suppressed["status"]) == (None, "suppressed")
    names = [indicator["name"] for indicator in body["indicators"]]
    assert "persons_spanning_kinds" in names
    assert {"flow", "category"} == set(
        next(i for i in body["indicators"] if i["name"] == "exchanges")["dimensions"]
    )


def test_csv_has_one_row_per_figure(http: TestClient, office: dict[str, str], published: History):
    as_json = get(http, office, **PERIOD).json()
    response = get(http, office, **PERIOD, format="csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(as_json["figures"])
    (row,) = [
        r
        for r in rows
        if r["indicator"] == "median_days_to_first_exchange" and r["municipality"] == "koeln"
    ]
    assert (row["month"], row["value"], row["status"], row["agency_kind"]) == (
        "2025-03",
        "4.5",
        "published",
        "",
    )


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("text/csv", "text/csv"),
        ("application/json, text/csv", "application/json"),
        ("text/*", "text/csv"),
        ("application/json;q=0, */*", "text/csv"),
        ("*/*", "application/json"),
    ],
)
def test_the_accept_header_chooses_the_format(
    http: TestClient, office: dict[str, str], published: History, accept: str, media_type: str
):
    response = get(http, office | {"Accept": accept}, **PERIOD)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)


def test_a_municipality_narrows_the_figures_to_its_own(
    http: TestClient, office: dict[str, str], published: History
):
    body = get(http, office, **PERIOD, municipality="bonn").json()
    assert body["municipality"] == "bonn"
    assert body["figures"]
    assert {f["municipality"] for f in body["figures"]} == {"bonn"}
    expired = figure(body, "consents_expired", agency_kind="job_centre")
    assert expired["value"] == 2


def test_the_openapi_document_describes_both_formats(http: TestClient):
    operation = http.get("/openapi.json").json()["paths"]["/v1/indicators"]["get"]
    assert {"application/json", "text/csv"} <= set(operation["responses"]["200"]["content"])
    assert {"from", "to", "municipality", "format"} <= {p["name"] for p in operation["parameters"]}


# -- who may ask --------------------------------------------------------------------------------


def test_without_a_token_it_is_401(http: TestClient, published: History):
    assert_problem(get(http, {}, **PERIOD), 401, "/problems/invalid-token")


@pytest.mark.parametrize("role", [ClientRole.DPO, ClientRole.AGENCY])
def test_other_clients_lack_the_scope(
    http: TestClient, clients: Clients, published: History, role: ClientRole
):
    client = (
        clients.other("city-dpo", role)
        if role is ClientRole.DPO
        else clients.registered["koeln-jobcenter"]
    )
    response = get(http, bearer(token_for(http, client)), **PERIOD)
    assert_problem(response, 403, "/problems/insufficient-scope")


def test_every_read_is_audited(
    http: TestClient, office: dict[str, str], runtime: Runtime, published: History
):
    get(http, office, **PERIOD, municipality="koeln", format="csv")
    with runtime.database.transaction(read_only=True) as session:
        (body,) = session.scalars(
            select(AuditEntry.body).where(AuditEntry.event == "indicators.read")
        ).all()
    entry = decode(body)
    assert entry["actor"] == "city-monitoring"
    assert entry["details"] == {
        "from": "2025-02",
        "to": "2025-04",
        "format": "csv",
        "municipality": "koeln",
    }


# -- bad requests -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status", "problem"),
    [
        ({"from": "2025-3", "to": "2025-04"}, 422, "invalid-request"),
        ({"from": "2025-13", "to": "2026-01"}, 422, "invalid-request"),
        ({"from": "25-03", "to": "2025-04"}, 422, "invalid-request"),
        ({"from": "2025-03"}, 422, "invalid-request"),
        ({"from": "2025-05", "to": "2025-04"}, 422, "invalid-request"),
        ({"from": "2022-01", "to": "2025-01"}, 422, "invalid-request"),  # 37 months
        ({**PERIOD, "municipality": "x" * 101}, 422, "invalid-request"),
        ({**PERIOD, "municipality": "koeln\n"}, 422, "invalid-request"),
        ({**PERIOD, "municipality": "hamburg"}, 422, "invalid-request"),
        ({**PERIOD, "format": "xml"}, 422, "invalid-request"),
    ],
)
def test_bad_parameters_get_a_problem_and_change_nothing(
    http: TestClient,
    office: dict[str, str],
    runtime: Runtime,
    published: History,
    params: dict[str, str],
    status: int,
    problem: str,
):
    before = entry_count(runtime)
    body = assert_problem(get(http, office, **params), status, f"/problems/{problem}")
    assert body["errors"]
    assert "hamburg" not in str(body)
    assert entry_count(runtime) == before


@pytest.mark.parametrize(
    ("accept", "params"),
    [
        ("image/png", {}),
        ("application/json;q=0, text/csv;q=0", {}),
        ("application/json", {"format": "csv"}),
        ("text/csv", {"format": "json"}),
    ],
)
def test_an_unacceptable_format_is_406_and_changes_nothing(
    http: TestClient,
    office: dict[str, str],
    runtime: Runtime,
    published: History,
    accept: str,
    params: dict[str, str],
):
    before = entry_count(runtime)
    response = get(http, office | {"Accept": accept}, **PERIOD, **params)
    assert_problem(response, 406, "/problems/not-acceptable")
    assert entry_count(runtime) == before


def test_thirty_six_months_at_once_are_fine(
    http: TestClient, office: dict[str, str], published: History
):
    body = get(http, office, **{"from": "2022-04", "to": "2025-03"}).json()
    assert len(body["months"]) == 36


# -- no personal data ---------------------------------------------------------------------------


def test_no_pseudonym_reference_subject_or_caseworker_id_leaves(
    http: TestClient, office: dict[str, str], runtime: Runtime, published: History
):
    secrets = {CASEWORKER, *published.subjects.values(), *published.consents.values()}
    for person, subject in published.subjects.items():
        secrets.add(runtime.audit.pseudonymizer.pseudonym(subject))
        secrets.update(reference(person, agency) for agency in AGENCIES)
    with runtime.database.transaction(read_only=True) as session:
        secrets.update(
            session.scalars(select(AuditEntry.subject).where(AuditEntry.subject.isnot(None)))
        )
    for params in ({}, {"format": "csv"}, {"municipality": "koeln"}):
        response = get(http, office, **PERIOD, **params)
        assert response.status_code == 200
        leaked = sorted(secret for secret in secrets if secret in response.text)
        assert leaked == [], params
    assert len(secrets) > 20
