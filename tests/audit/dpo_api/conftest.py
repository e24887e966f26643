"""The seeded audit log every DPO-side API test starts from."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from consent.vocabulary import AgencyKind
from gateway.agencies.tables import ClientRole
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.runtime import Runtime
from tests.audit.dpo_api.seeded import (
    ABH,
    JOBCENTER,
    REFERENCES,
    SOZIALAMT,
    T0,
    Log,
    add_subject,
    bearer,
    decision,
    record,
    token_for,
)
from tests.support import Clients


@pytest.fixture
def log(runtime: Runtime, clients: Clients, http: TestClient) -> Log:
    """Three agencies of Köln, two persons, and eight decisions between 09:00 and 16:00."""
    agency = clients.agency(JOBCENTER, AgencyKind.JOB_CENTRE)
    clients.agency(ABH, AgencyKind.FOREIGNERS_OFFICE)
    clients.agency(SOZIALAMT, AgencyKind.SOCIAL_OFFICE)
    dpo = clients.other("city-dpo", ClientRole.DPO)
    amina = add_subject(runtime, REFERENCES["amina"])
    oleksandr = add_subject(runtime, REFERENCES["oleksandr"])
    hour = timedelta(hours=1)
    permit, deny = Decision.PERMIT, Decision.DENY
    record(
        runtime,
        (
            AuditEvent(
                EventType.CONSENT_RECORDED,
                actor=JOBCENTER,
                subject_id=amina,
                consent_id="c-amina",
                consent_version=1,
                request_id="r0",
            ),
            T0,
        ),
        (
            decision("r1", JOBCENTER, ABH, ("residence_status",), "labour_market_integration",
                     permit, subject_id=amina, consent_id="c-amina"),
            T0 + hour,
        ),
        (
            decision("r2", SOZIALAMT, JOBCENTER, ("benefit_status",), "benefit_entitlement",
                     deny, reason="no_consent", subject_id=oleksandr),
            T0 + 2 * hour,
        ),
        (
            decision("r3", JOBCENTER, ABH, ("residence_status",), "case_management",
                     deny, reason="purpose_not_covered", subject_id=amina),
            T0 + 3 * hour,
        ),
        (
            decision("r4", ABH, JOBCENTER, ("integration_measures",), "residence_procedure",
                     permit, subject_id=amina, consent_id="c-amina"),
            T0 + 4 * hour,
        ),
        (
            decision("r5", JOBCENTER, SOZIALAMT, ("benefit_status", "case_contact"),
                     "case_management", permit, subject_id=oleksandr, consent_id="c-oleks"),
            T0 + 5 * hour,
        ),
        (
            decision("r6", ABH, JOBCENTER, ("youth_welfare_support",),
                     "child_and_youth_welfare", deny, reason="no_policy"),
            T0 + 6 * hour,
        ),
        (
            decision("r7", SOZIALAMT, JOBCENTER, ("case_contact",), "case_management",
                     deny, reason="no_consent", subject_id=amina),
            T0 + 7 * hour,
        ),
    )  # fmt: skip
    about = {
        "r0": "amina", "r1": "amina", "r2": "oleksandr", "r3": "amina", "r4": "amina",
        "r5": "oleksandr", "r6": None, "r7": "amina",
    }  # fmt: skip
    return Log(
        dpo=bearer(token_for(http, dpo)),
        agency=agency,
        subjects={"amina": amina, "oleksandr": oleksandr},
        about=about,
    )
