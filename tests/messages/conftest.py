"""Messages between the Köln agencies: the job centre invites the youth welfare office to a case
conference, under a consent that allows exactly that."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.consents.conftest import ABH, BONN, FORM, JA, JC, SA, agencies, as_agency
from tests.support import named_in

__all__ = ["ABH", "BONN", "JA", "JC", "SA", "agencies", "as_agency"]

CONFERENCE = {
    "starts_at": "2026-12-03T10:00:00+01:00",
    "location": "Jobcenter Köln, Raum 2.14",
    "topic": "Hilfeplan und Sprachkurs",
    "participants": [JC, JA],
}
INVITATION_GRANT = {
    "from": JC,
    "to": JA,
    "categories": ["case_conference", "case_contact"],
    "purposes": ["case_management"],
}


REFERENCES = {JC: "JC-4711", JA: "JA-0042", ABH: "ABH-0815", SA: "SA-2002"}


def consent_body(
    grants: list[dict[str, Any]] | None = None, references: dict[str, str] | None = None
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "subject": {
            "references": named_in(references or REFERENCES, grants or [INVITATION_GRANT]),
            "age_band": "adult",
        },
        "given_by": [{"role": "data_subject"}],
        "grants": grants or [INVITATION_GRANT],
        "valid_from": (now - timedelta(minutes=5)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
        "notice": FORM,
        "evidence": {"channel": "paper_signed"},
    }


def invitation(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "recipient": JA,
        "subject_ref": "JC-4711",
        "category": "case_conference",
        "purpose": "case_management",
        "payload": dict(CONFERENCE),
    }
    body.update(changes)
    return body


@pytest.fixture
def consent_id(http: TestClient, as_agency: Callable[[str], dict[str, str]]) -> str:
    response = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC))
    assert response.status_code == 201, response.text
    return str(response.json()["consent_id"])


@pytest.fixture
def send(http: TestClient, as_agency: Callable[[str], dict[str, str]]):  # type: ignore[no-untyped-def]
    """Send a message as an agency (the job centre by default); the response."""

    def post(body: dict[str, Any] | None = None, sender: str = JC):  # type: ignore[no-untyped-def]
        return http.post("/v1/messages", json=body or invitation(), headers=as_agency(sender))

    return post
