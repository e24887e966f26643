"""The bounds of emergency access: a daily limit per agency, and windows no longer than the
deployment allows."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from gateway.emergency.tables import EmergencyUse, EmergencyWindow
from tests.emergency.world import JA, Emergency


@pytest.fixture
def gateway_settings() -> dict[str, Any]:
    return {"emergency_daily_limit": 2, "emergency_window_hours": 24}


def test_the_daily_limit_refuses_further_emergency_queries_and_audits_them(
    emergency: Emergency,
):
    emergency.grant()
    emergency.known_from_a_consent()
    assert emergency.ask().status_code == 200
    assert emergency.ask().status_code == 200

    response = emergency.ask()

    assert response.status_code == 403
    assert response.json()["reason"] == "emergency_limit_reached"
    outcomes = [(e["decision"], e.get("reason")) for e in emergency.entries()
                if e.get("requester") == JA]  # fmt: skip
    assert outcomes == [("permit", None), ("permit", None), ("deny", "emergency_limit_reached")]
    with emergency.world.gateway.runtime.database.transaction(read_only=True) as session:
        assert len(session.scalars(select(EmergencyUse)).all()) == 2


def test_the_window_is_as_long_as_the_deployment_allows_when_shorter_than_the_flows(
    emergency: Emergency,
):
    emergency.grant()
    emergency.known_from_a_consent()
    window = emergency.ask().json()["emergency_window"]
    opened = datetime.fromisoformat(window["opened_at"])
    assert datetime.fromisoformat(window["closes_at"]) - opened == timedelta(hours=24)


def test_concurrent_emergency_queries_open_one_window_and_keep_to_the_limit(
    emergency: Emergency,
):
    emergency.grant()
    emergency.known_from_a_consent()
    bearer = emergency.bearer()
    with ThreadPoolExecutor(5) as pool:
        statuses = sorted(pool.map(lambda _: emergency.ask(headers=bearer).status_code, range(5)))
    assert statuses == [200, 200, 403, 403, 403]
    with emergency.world.gateway.runtime.database.transaction(read_only=True) as session:
        assert len(session.scalars(select(EmergencyUse)).all()) == 2
        assert len(session.scalars(select(EmergencyWindow)).all()) == 1
