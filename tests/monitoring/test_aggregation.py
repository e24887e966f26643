"""Known histories give known figures: every indicator of the known March (and April), computed
from the audit log and the consent registry, exactly."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from gateway.app import create_app
from gateway.audit.tables import AuditEntry
from gateway.db.engine import make_engine
from gateway.monitoring.aggregation import aggregate_due, aggregate_month, compute, due_months
from gateway.monitoring.indicators import Figure
from gateway.monitoring.periods import Month
from gateway.monitoring.tables import MonitoringMonth
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.monitoring.history import History

MARCH, APRIL = Month(2025, 3), Month(2025, 4)
S = "suppressed"
KINDS = ("foreigners_office", "job_centre", "youth_welfare_office", "social_office")
RESIDENCE = ("reference/abh-to-jobcenter-residence", "residence_status")
BENEFITS = ("reference/jobcenter-to-sozialamt-benefits", "benefit_status")


def figures_of(runtime: Runtime, month: Month, threshold: int = 2) -> list[Figure]:
    return compute(runtime.database, runtime.policies, month, threshold)


def table(figures: list[Figure], indicator: str, *dimensions: str) -> dict[tuple[Any, ...], Any]:
    """indicator's figures by (municipality, *dimensions): the value, "suppressed" or None."""
    return {
        (f.municipality, *(getattr(f, d) for d in dimensions)): S if f.status == S else f.value
        for f in figures
        if f.indicator == indicator
    }


def by_kind(koeln: tuple[Any, ...], bonn: tuple[Any, ...], totals: tuple[Any, ...]):
    """A consent table from its rows: four kinds, then the row total."""
    rows = {"koeln": koeln, "bonn": bonn, None: totals}
    return {
        (place, kind): row[position]
        for place, row in rows.items()
        for position, kind in enumerate((*KINDS, None))
    }


def test_consents_recorded_withdrawn_and_expired(runtime: Runtime, march: History):
    figures = figures_of(runtime, MARCH)
    assert table(figures, "consents_recorded", "agency_kind") == by_kind(
        koeln=(2, 4, 0, 0, 6), bonn=(0, 2, 0, 0, 2), totals=(2, 6, 0, 0, 8)
    )
    # P5 and P6 as a whole; P1's taking back one grant is no withdrawal of the consent.
    assert table(figures, "consents_withdrawn", "agency_kind") == by_kind(
        koeln=(2, 0, 0, 0, 2), bonn=(0, 0, 0, 0, 0), totals=(2, 0, 0, 0, 2)
    )
    assert table(figures, "consents_expired", "agency_kind") == by_kind(
        koeln=(0, 0, 0, 0, 0), bonn=(0, 2, 0, 0, 2), totals=(0, 2, 0, 0, 2)
    )


def test_persons_spanning_kinds_at_the_months_end(runtime: Runtime, march: History):
    # In force on 31 March: P1 (2 kinds since taking back a grant), P2 (3), P3 and P4 (4).
    # "At least 3" is withheld: with "at least 2" and "at least 4" it would tell that exactly
    # one person spans 2 kinds and exactly one spans 3.
    assert table(figures_of(runtime, MARCH), "persons_spanning_kinds", "min_kinds") == {
        ("bonn", 2): 0, ("bonn", 3): 0, ("bonn", 4): 0,
        ("koeln", 2): 4, ("koeln", 3): S, ("koeln", 4): 2,
        (None, 2): 4, (None, 3): S, (None, 4): 2,
    }  # fmt: skip


def test_without_a_threshold_every_span_is_counted(runtime: Runtime, march: History):
    spans = table(figures_of(runtime, MARCH, threshold=1), "persons_spanning_kinds", "min_kinds")
    assert (spans["koeln", 2], spans["koeln", 3], spans["koeln", 4]) == (4, 3, 2)


def test_exchanges_per_flow_and_category(runtime: Runtime, march: History):
    exchanges = table(figures_of(runtime, MARCH), "exchanges", "flow", "category")
    assert {key: value for key, value in exchanges.items() if value != 0} == {
        ("koeln", *RESIDENCE): 5,  # P1, P2 twice, P5, P6
        ("koeln", *BENEFITS): 2,
        ("bonn", *RESIDENCE): 2,
        ("koeln", None, None): 7,
        ("bonn", None, None): 2,
        (None, *RESIDENCE): 7,
        (None, *BENEFITS): 2,
        (None, None, None): 9,
    }
    # Every flow and category of the policy set is a column, in each municipality: the emergency
    # flows' too, so that releases under them are counted where everyone else's are.
    assert len(exchanges) == 3 * (9 + 3 + 1)
    assert ("koeln", "reference/jobcenter-to-jugendamt-emergency", "benefit_status") in exchanges


def test_denials_per_reason_suppress_refusals_about_nobody_known(runtime: Runtime, march: History):
    denials = table(figures_of(runtime, MARCH), "denials", "reason")
    # Three refusals about unknown references concern no known person: withheld. Then the
    # Köln total would give them away, so consent_withdrawn (and its column total) go too.
    assert {key: value for key, value in denials.items() if value != 0} == {
        ("koeln", "consent_withdrawn"): S,
        ("koeln", "unknown_subject"): S,
        (None, "consent_withdrawn"): S,
        (None, "unknown_subject"): S,
        ("koeln", None): 5,
        (None, None): 5,
    }
    assert denials["bonn", None] == 0


def test_median_days_from_consent_to_first_exchange(runtime: Runtime, march: History):
    # Köln 3, 4, 4, 5, 7, 10 (P2's second exchange is not a first); Bonn 5, 6.
    assert table(figures_of(runtime, MARCH), "median_days_to_first_exchange") == {
        ("bonn",): 5.5,
        ("koeln",): 4.5,
        (None,): 5.0,
    }


def test_medians_are_shown_only_over_enough_persons(runtime: Runtime, march: History):
    medians = table(figures_of(runtime, MARCH, threshold=3), "median_days_to_first_exchange")
    assert medians == {("bonn",): S, ("koeln",): 4.5, (None,): 5.0}


def test_share_of_notices_acknowledged_within_30_days(runtime: Runtime, march: History):
    # Both notices of 20 March have their 30 days end in April: one answered in 5 days, one
    # in 36. March has no notice whose 30 days ended in it.
    share = "notices_acknowledged_within_30_days"
    assert table(figures_of(runtime, APRIL), share) == {
        ("bonn",): None,
        ("koeln",): 0.5,
        (None,): 0.5,
    }
    assert {f.status for f in figures_of(runtime, MARCH) if f.indicator == share} == {"empty"}


def test_a_month_is_computed_once_it_is_over_and_never_again(runtime: Runtime, march: History):
    database = runtime.database
    # The log begins in March 2025: no month before it is due.
    during = datetime(2025, 4, 1, 0, 30, tzinfo=UTC)  # March is over, but only just
    assert due_months(database, during) == []
    after = datetime(2025, 6, 2, tzinfo=UTC)
    assert due_months(database, after) == [MARCH, APRIL, Month(2025, 5)]
    computed = aggregate_due(database, runtime.audit, runtime.policies, 2, after)
    assert computed == [MARCH]  # one month a round
    computed += aggregate_due(database, runtime.audit, runtime.policies, 2, after, limit=9)
    assert computed == [MARCH, APRIL, Month(2025, 5)]
    assert due_months(database, after) == []
    assert not aggregate_month(database, runtime.audit, runtime.policies, MARCH, 5)
    with database.transaction(read_only=True) as session:
        stored = session.get(MonitoringMonth, "2025-03")
        aggregated = session.scalars(
            select(AuditEntry.body).where(AuditEntry.event == "indicators.aggregated")
        ).all()
    assert stored is not None
    assert stored.threshold == 2
    assert len(aggregated) == len(computed)


def test_the_default_threshold_withholds_cells_of_fewer_than_five(runtime: Runtime, march: History):
    recorded = table(figures_of(runtime, MARCH, threshold=5), "consents_recorded", "agency_kind")
    assert recorded["bonn", "job_centre"] == S
    assert recorded["bonn", None] == S
    assert recorded["koeln", "foreigners_office"] == S
    assert recorded[None, None] == 8


@pytest.mark.timeout(60)
def test_computing_a_month_needs_no_lock_the_exchange_path_holds(
    runtime: Runtime, march: History, database_url: str
):
    """While another transaction holds what an exchange holds (SQLite: the write lock;
    PostgreSQL: row locks on the consents and an open insert into the audit log), computing
    a month still runs to the end: it only reads."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as writer:
            # On SQLite the first statement takes the write lock (BEGIN IMMEDIATE).
            if engine.dialect.name != "sqlite":
                writer.execute(text("SELECT id FROM consents FOR UPDATE")).all()
            writer.execute(text("UPDATE consent_versions SET receipt = receipt WHERE version = 1"))
            assert figures_of(runtime, MARCH)
            writer.rollback()
    finally:
        engine.dispose()


@pytest.mark.timeout(60)
def test_a_running_gateway_computes_due_months_in_the_background(
    settings: Settings, march: History
):
    background = settings.model_copy(update={"audit_checkpoint_interval": 0.05})
    runtime = Runtime.start(background)
    try:
        with TestClient(create_app(runtime=runtime)):  # runs the lifespan's publisher
            while not stored(runtime, "2025-03"):
                time.sleep(0.05)
        with runtime.database.transaction(read_only=True) as session:
            march_row = session.get(MonitoringMonth, "2025-03")
    finally:
        runtime.close()
    assert march_row is not None
    assert march_row.threshold == background.monitoring_min_cell == 5


def stored(runtime: Runtime, month: str) -> bool:
    with runtime.database.transaction(read_only=True) as session:
        return session.get(MonitoringMonth, month) is not None
