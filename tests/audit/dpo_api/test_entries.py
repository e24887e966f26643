"""Searching and paging the audit log as a DPO's tool does."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.runtime import Runtime
from tests.audit.dpo_api.seeded import (  # log: the shared fixture
    ABH,
    JOBCENTER,
    SOZIALAMT,
    T0,
    Log,
    all_entry_ids,
    assert_problem,
    at,
    entries,
    publish,
    record,
    unsubjected_denial,
)

# -- entries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"since": at(2), "until": at(5)}, ["r2", "r3", "r4"]),
        ({"since": at(6), "until": at(24)}, ["r6", "r7"]),
        ({"until": at(1)}, ["r0"]),
        (
            {"since": "2024-03-04T13:00:00+02:00", "until": "2024-03-04T15:00:00+02:00"},
            ["r2", "r3"],
        ),
        ({"since": at(7), "until": at(7)}, []),
        ({"agency": SOZIALAMT}, ["r2", "r5", "r7"]),
        ({"agency": ABH}, ["r1", "r3", "r4", "r6"]),
        ({"event": "consent.recorded"}, ["r0"]),
        ({"decision": "deny"}, ["r2", "r3", "r6", "r7"]),
        ({"decision": "permit"}, ["r1", "r4", "r5"]),
        ({"reason": "no_consent"}, ["r2", "r7"]),
        ({"category": "benefit_status"}, ["r2", "r5"]),
        ({"category": "case_contact"}, ["r5", "r7"]),
        ({"category": "status"}, []),  # a whole category name, not a part of one
        ({"purpose": "case_management"}, ["r3", "r5", "r7"]),
        ({"agency": JOBCENTER, "decision": "permit", "purpose": "case_management"}, ["r5"]),
    ],
)
def test_each_filter_returns_exactly_the_matching_entries(
    http: TestClient, log: Log, runtime: Runtime, params: dict[str, str], expected: list[str]
):
    publish(runtime)
    found = entries(http, log, **params)
    assert [entry["request_id"] for entry in found] == expected


def test_entries_carry_what_was_decided_and_a_pseudonym_instead_of_the_person(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    (entry,) = entries(http, log, reason="purpose_not_covered")
    assert entry["event"] == "exchange.decided"
    assert entry["requester"] == JOBCENTER
    assert entry["provider"] == ABH
    assert entry["categories"] == ["residence_status"]
    assert entry["purpose"] == "case_management"
    assert entry["decision"] == "deny"
    assert entry["caseworker"] == runtime.audit.digests.caseworker(JOBCENTER, "cw-7f3a")
    assert datetime.fromisoformat(entry["recorded_at"]) == T0 + timedelta(hours=3)
    assert entry["pruned"] is False
    assert entry["subject"] == runtime.audit.pseudonymizer.pseudonym(log.subjects["amina"])
    assert log.subjects["amina"] not in json.dumps(entry)


@pytest.mark.parametrize("category", ["case_contac_", "residence_______", "benefit_statu_"])
def test_a_category_filter_matches_only_that_exact_category(
    http: TestClient, log: Log, runtime: Runtime, category: str
):
    publish(runtime)
    assert entries(http, log, category=category) == []


def test_a_time_without_zone_is_read_as_utc(http: TestClient, log: Log, runtime: Runtime):
    """DPO tools often send local-looking timestamps; the CLI reads them as UTC, so must the API."""
    response = http.get(
        "/v1/audit/entries",
        params={"since": "2024-03-04T11:00:00", "until": "2024-03-04T13:00:00"},
        headers=log.dpo,
    )
    assert response.status_code == 200, response.text
    assert [entry["request_id"] for entry in response.json()["entries"]] == ["r2", "r3"]


@pytest.mark.parametrize("limit", [1, 2, 3, 500])
def test_cursor_pages_cover_every_entry_once_in_order(
    http: TestClient, log: Log, runtime: Runtime, limit: int
):
    publish(runtime)
    pages: list[list[int]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = http.get("/v1/audit/entries", params=params, headers=log.dpo)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([entry["id"] for entry in page["entries"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert all(0 < len(page) <= limit for page in pages)
    assert [entry_id for page in pages for entry_id in page] == all_entry_ids(runtime)


def test_cursor_pages_of_a_filter_cover_its_matches_once(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    paged = entries(http, log, decision="deny", limit=1)
    assert [entry["request_id"] for entry in paged] == ["r2", "r3", "r6", "r7"]
    assert len({entry["id"] for entry in paged}) == 4


def test_published_entries_have_distinct_positions_and_pending_ones_none(
    http: TestClient, log: Log, runtime: Runtime
):
    size = publish(runtime)
    record(runtime, (unsubjected_denial("late"), T0))
    found = entries(http, log)
    placed = [entry["position"] for entry in found if entry["request_id"] != "late"]
    assert sorted(placed) == list(range(size))
    assert [entry["position"] for entry in found if entry["request_id"] == "late"] == [None]


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"since": "yesterday"}, "/query/since"),
        ({"until": "2024-13-01T00:00:00Z"}, "/query/until"),
        ({"until": "0.5"}, "/query/until"),  # a number is no time, whatever pydantic thinks
        ({"since": "2026-12-06"}, "/query/since"),  # a date is no time: which zone's day?
        ({"since": "2024-02-30T10:00:00Z"}, "/query/since"),
        # A real time with no UTC equivalent (year 10000 in UTC): refused, never a 500.
        ({"until": "9999-12-31T23:30:00-01:00"}, "/query/until"),
        ({"agency": "Koeln_Jobcenter"}, "/query/agency"),
        ({"event": "exchange.guessed"}, "/query/event"),
        ({"decision": "maybe"}, "/query/decision"),
        ({"reason": "no consent"}, "/query/reason"),
        ({"category": "Residence-Status"}, "/query/category"),
        ({"purpose": "x" * 49}, "/query/purpose"),
        ({"limit": "0"}, "/query/limit"),
        ({"limit": "501"}, "/query/limit"),
        ({"limit": "ten"}, "/query/limit"),
        ({"cursor": "c" * 65}, "/query/cursor"),
        ({"cursor": "not a cursor!"}, "/query/cursor"),
        ({"cursor": cursor_of("x12")}, "/query/cursor"),
        ({"cursor": cursor_of("e")}, "/query/cursor"),
        ({"cursor": cursor_of("e12x")}, "/query/cursor"),
    ],
)
def test_an_invalid_filter_or_cursor_is_a_422_problem(
    http: TestClient, log: Log, params: dict[str, str], path: str
):
    response = http.get("/v1/audit/entries", params=params, headers=log.dpo)
    body = assert_problem(response, 422, "/problems/invalid-request")
    assert path in [error["path"] for error in body["errors"]]


def test_a_cursor_beyond_any_entry_id_is_a_422_problem(http: TestClient, log: Log):
    params = {"cursor": cursor_of("e" + "9" * 30)}
    response = http.get("/v1/audit/entries", params=params, headers=log.dpo)
    body = assert_problem(response, 422, "/problems/invalid-request")
    assert "/query/cursor" in [error["path"] for error in body["errors"]]
