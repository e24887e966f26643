"""A known month (March 2025) in two municipalities, and the monitoring office's token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from gateway.agencies.tables import ClientRole
from gateway.runtime import Runtime
from tests.audit.dpo_api.seeded import bearer, token_for
from tests.monitoring.history import (
    ABH,
    BENEFITS,
    BONN_ABH,
    BONN_JC,
    JA,
    JC,
    RESIDENCE,
    SA,
    SUPPORT,
    Grant,
    History,
    at,
)
from tests.support import Clients

RESIDENCE_KOELN = Grant.of(ABH, JC, RESIDENCE)
BENEFITS_KOELN = Grant.of(JC, SA, BENEFITS)
SUPPORT_KOELN = Grant.of(JA, JC, SUPPORT)
RESIDENCE_BONN = Grant.of(BONN_ABH, BONN_JC, RESIDENCE)


@pytest.fixture
def history(runtime: Runtime, clients: Clients) -> History:
    return History.of_agencies(runtime, clients)


@pytest.fixture
def office(http: TestClient, clients: Clients) -> dict[str, str]:
    """Authorization headers of the city's monitoring office."""
    return bearer(token_for(http, clients.other("city-monitoring", ClientRole.MONITORING)))


@pytest.fixture
def march(history: History) -> History:
    """March 2025, as the tests expect it to be counted:

    - Köln: the job centre records consents for P1, P2 (foreigners' office, job centre, social
      office: 3 kinds) and P3, P4 (also the youth welfare office: 4 kinds); the foreigners'
      office records P5, P6 (2 kinds). Bonn's job centre records P7, P8 (2 kinds), valid until
      the 25th, so they expire in March.
    - First exchanges: P1 after 7 days, P2 10, P3 3, P4 4, P5 4, P6 5, P7 5, P8 6; P2 twice.
    - P1 takes back the benefits grant (not a withdrawal of the consent: it spans 2 kinds at
      the month's end); P5 and P6 withdraw at the foreigners' office on the 20th, so the job
      centre gets two notices: it answers P5's within 5 days, P6's after 36 days (in April).
    - The job centre is refused P5's and P6's data afterwards (consent_withdrawn), and three
      times asks about references nobody knows (unknown_subject).
    """
    h = march_consents(history)
    for person, grant, day in (
        ("P1", RESIDENCE_KOELN, "2025-03-10"),
        ("P2", RESIDENCE_KOELN, "2025-03-14"),
        ("P2", RESIDENCE_KOELN, "2025-03-20"),
        ("P3", BENEFITS_KOELN, "2025-03-08"),
        ("P4", BENEFITS_KOELN, "2025-03-09"),
        ("P5", RESIDENCE_KOELN, "2025-03-10"),
        ("P6", RESIDENCE_KOELN, "2025-03-11"),
        ("P7", RESIDENCE_BONN, "2025-03-12"),
        ("P8", RESIDENCE_BONN, "2025-03-13"),
    ):
        h.exchange(person, grant, at(day))
    h.withdraw("P1", JC, at("2025-03-15"), grants=[BENEFITS_KOELN])
    h.withdraw("P5", ABH, at("2025-03-20"))
    h.withdraw("P6", ABH, at("2025-03-20", hour=11))
    h.denial("P5", RESIDENCE_KOELN, "consent_withdrawn", at("2025-03-21"))
    h.denial("P6", RESIDENCE_KOELN, "consent_withdrawn", at("2025-03-22"))
    for hour in (9, 10, 11):
        h.denial(None, RESIDENCE_KOELN, "unknown_subject", at("2025-03-15", hour))
    h.acknowledge(JC, "P5", at("2025-03-25"))
    h.acknowledge(JC, "P6", at("2025-04-25"))
    return h


def march_consents(h: History) -> History:
    for person, day in (("P1", "2025-03-03"), ("P2", "2025-03-04")):
        h.consent(person, JC, [RESIDENCE_KOELN, BENEFITS_KOELN], at(day))
    for person in ("P3", "P4"):
        h.consent(person, JC, [RESIDENCE_KOELN, SUPPORT_KOELN, BENEFITS_KOELN], at("2025-03-05"))
    for person in ("P5", "P6"):
        h.consent(person, ABH, [RESIDENCE_KOELN], at("2025-03-06"))
    for person in ("P7", "P8"):
        h.consent(person, BONN_JC, [RESIDENCE_BONN], at("2025-03-07"), lasts=timedelta(days=18))
    return h
