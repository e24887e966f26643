"""Four agencies of Köln (one of each kind) and one of Bonn, with tokens, for consent tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from consent.vocabulary import AgencyKind
from tests.support import Clients, RegisteredClient, client_assertion, named_in, token_form

ABH, JC, JA, SA, BONN = (
    "koeln-auslaenderbehoerde", "koeln-jobcenter", "koeln-jugendamt", "koeln-sozialamt",
    "bonn-jobcenter",
)  # fmt: skip
FORM = {"form_id": "cross-agency-case-management", "form_version": "1", "language": "de"}


@pytest.fixture
def agencies(clients: Clients) -> dict[str, RegisteredClient]:
    return {
        ABH: clients.agency(ABH, AgencyKind.FOREIGNERS_OFFICE),
        JC: clients.agency(JC, AgencyKind.JOB_CENTRE),
        JA: clients.agency(JA, AgencyKind.YOUTH_WELFARE_OFFICE),
        SA: clients.agency(SA, AgencyKind.SOCIAL_OFFICE),
        BONN: clients.agency(BONN, AgencyKind.JOB_CENTRE, municipality="bonn"),
    }


@pytest.fixture
def as_agency(
    http: TestClient, agencies: dict[str, RegisteredClient]
) -> Callable[[str], dict[str, str]]:
    """Authorization headers for an agency (a fresh token each time)."""

    def headers(agency_id: str) -> dict[str, str]:
        agency = agencies[agency_id]
        form = token_form(client_assertion(agency.id, agency.key, "http://localhost/oauth/token"))
        token = http.post("/oauth/token", data=form).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    return headers


def consent_body(**changes: Any) -> dict[str, Any]:
    """A consent the job centre records: the foreigners' office may tell it the residence status
    for labour-market integration, and it may tell the social office the benefit status."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "subject": {"references": {JC: "JC-4711", ABH: "ABH-0815", SA: "SA-2002"}},
        "given_by": [{"role": "data_subject"}],
        "grants": [
            {
                "from": ABH,
                "to": JC,
                "categories": ["residence_status"],
                "purposes": ["labour_market_integration", "case_management"],
            },
            {
                "from": JC,
                "to": SA,
                "categories": ["benefit_status"],
                "purposes": ["benefit_entitlement"],
            },
        ],
        "valid_from": (now - timedelta(minutes=5)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
        "notice": dict(FORM, interpreter_language="ar"),
        "evidence": {"channel": "paper_signed", "document_sha256": "ab" * 32},
    }
    body.update(changes)
    references = body["subject"]["references"]
    body["subject"] = {
        "age_band": "adult",
        **body["subject"],
        "references": named_in(references, body["grants"]),
    }
    return body
