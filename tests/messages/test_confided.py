"""Messages of data the policy marks as confided (§ 65 SGB VIII) after the consent was
recorded: a message sent before is withheld when fetched, a new one is refused, each naming
the rule; under a consent the confiding person gave, they pass. The gateway before and after
the policy changed are two instances on one database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.app import create_app
from gateway.messages.tables import Message
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.conftest import TEST_ISSUER
from tests.messages.conftest import JA, JC, consent_body
from tests.support import confided_policies

SUPPORT_GRANT = {"from": JA, "to": JC, "categories": ["youth_welfare_support"],
                 "purposes": ["case_management"]}  # fmt: skip
SUPPORT = {
    "recipient": JC,
    "subject_ref": "JA-0042",
    "category": "youth_welfare_support",
    "purpose": "case_management",
    "payload": {"support_type": "educational_support", "status": "ongoing",
                "since": "2024-02-12",
                "lead_contact": {"name": "Miriam Schäfer", "phone": "+49 221 221-34567",
                                 "email": "miriam.schaefer@jugendamt.example"}},
}  # fmt: skip


@pytest.fixture
def after(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    """The same deployment once the policy marks the youth welfare office's support data as
    confided: another instance on the same database and keys."""
    marked = settings.model_copy(update={"policy_dir": confided_policies(tmp_path / "policies")})
    runtime = Runtime.start(marked)
    try:
        app = create_app(runtime=runtime)
        with TestClient(app, base_url=TEST_ISSUER, raise_server_exceptions=False) as client:
            yield client
    finally:
        runtime.close()


def record(http: TestClient, as_agency, *roles: str) -> None:  # type: ignore[no-untyped-def]
    body = consent_body([SUPPORT_GRANT])
    body["given_by"] = [{"role": role} for role in roles]
    response = http.post("/v1/consents", json=body, headers=as_agency(JC))
    assert response.status_code == 201, response.text


def send(client: TestClient, as_agency) -> Any:  # type: ignore[no-untyped-def]
    return client.post("/v1/messages", json=SUPPORT, headers=as_agency(JA))


def test_a_message_sent_before_the_mark_is_withheld_and_a_new_one_refused(
    http: TestClient, after: TestClient, as_agency, runtime: Runtime
):
    record(http, as_agency, "data_subject")
    sent = send(http, as_agency)
    assert sent.status_code == 202, sent.text  # nothing marked yet
    message_id = sent.json()["message_id"]

    fetched = after.get(f"/v1/messages/{message_id}", headers=as_agency(JC))
    assert fetched.status_code == 410
    assert fetched.json()["reason"] == "confiding_person_required"
    assert "§ 65 SGB VIII" in fetched.json()["detail"]
    assert "Miriam" not in fetched.text
    with runtime.database.transaction(read_only=True) as session:
        message = session.scalar(select(Message).where(Message.id == message_id))
        assert message is not None
        assert (message.state, message.reason) == ("withheld", "confiding_person_required")

    refused = send(after, as_agency)
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/exchange-denied"
    assert refused.json()["reason"] == "confiding_person_required"
    assert "§ 65 SGB VIII" in refused.json()["detail"]
    inbox = {
        state: http.get("/v1/messages", params={"state": state}, headers=as_agency(JC)).json()
        for state in ("pending", "withheld")
    }
    assert [m["message_id"] for m in inbox["withheld"]["messages"]] == [message_id]
    assert inbox["pending"]["messages"] == []  # the refused one was never stored


def test_under_the_confiding_persons_consent_confided_messages_pass(after: TestClient, as_agency):
    record(after, as_agency, "confiding_person")
    sent = send(after, as_agency)
    assert sent.status_code == 202, sent.text
    fetched = after.get(f"/v1/messages/{sent.json()['message_id']}", headers=as_agency(JC))
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["payload"]["support_type"] == "educational_support"
