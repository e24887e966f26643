"""The lifecycle racing the agencies: a person erased at the moment an agency records a new
consent naming them. The recording must neither fail nor attach to the erased person."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from gateway.consents.tables import ConsentRecord
from gateway.lifecycle import repository
from gateway.runtime import Runtime
from gateway.subjects.tables import SubjectReference
from tests.lifecycle import seed
from tests.lifecycle.seed import ABH, JC
from tests.support import Clients, client_assertion, token_form

REFERENCES = {JC: "JC-4711", ABH: "ABH-0815"}


def _consent() -> dict:
    now = datetime.now(UTC)
    return {
        "subject": {"references": REFERENCES, "age_band": "adult"},
        "given_by": [{"role": "data_subject"}],
        "grants": [{"from": ABH, "to": JC, "categories": ["residence_status"],
                    "purposes": ["labour_market_integration"]}],
        "valid_from": (now - timedelta(minutes=1)).isoformat(),
        "valid_until": (now + timedelta(days=90)).isoformat(),
        "notice": {"form_id": "cross-agency-case-management", "form_version": "1",
                   "language": "de"},
        "evidence": {"channel": "paper_signed"},
    }  # fmt: skip


def test_a_consent_recorded_while_its_person_is_erased_makes_a_new_person(
    runtime: Runtime, http: TestClient, clients: Clients, offices: None, database_url: str
):
    """The erasure holds the person's row while it deletes them and their references; the
    recording waits for it, then finds the references gone and records a person anew. Before,
    it had read the references first and failed on the foreign key (a 500)."""
    if make_url(database_url).get_backend_name() == "sqlite":
        pytest.skip("SQLite has one writer at a time: an erasure and a recording cannot overlap")
    with runtime.database.transaction() as session:
        erased = seed.person(session, REFERENCES, datetime.now(UTC) - timedelta(days=5))
    agency = clients.registered[JC]
    form = token_form(client_assertion(agency.id, agency.key, "http://localhost/oauth/token"))
    token = http.post("/oauth/token", data=form).json()["access_token"]

    answers: list[int] = []
    with runtime.database.transaction() as erasing:
        assert repository.persons_due(erasing, 10) == [erased]  # the person's row held
        repository.erase_persons(erasing, [erased])
        recording = threading.Thread(
            target=lambda: answers.append(
                http.post(
                    "/v1/consents", json=_consent(), headers={"Authorization": f"Bearer {token}"}
                ).status_code
            )
        )
        recording.start()
        time.sleep(0.5)  # the recording is under way, waiting for the erasure's locks
    recording.join(timeout=30)

    assert answers == [201]
    with runtime.database.transaction(read_only=True) as session:
        (person,) = session.scalars(select(ConsentRecord.subject_id)).all()
        named = session.scalars(select(SubjectReference.subject_id).distinct()).all()
    assert person != erased
    assert named == [person]
