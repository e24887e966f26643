"""What a withdrawal sets off reaches everyone who holds data under the consent: a recipient
that fetched a message is told, whatever became of the message in the gateway since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from gateway.messages.tables import Message
from tests.adversarial.conftest import AMIRA, CONFERENCE, CONTACTS, JA, JC, City

INVITATION = {"recipient": JA, "subject_ref": AMIRA[JC], "category": "case_conference",
              "purpose": "case_management", "payload": CONFERENCE}  # fmt: skip


def test_a_message_fetched_and_then_expired_is_in_the_withdrawal_notice(city: City):
    consent = city.recorded(JC, {JC: AMIRA[JC], JA: AMIRA[JA]}, CONTACTS)
    sent = city.post(JC, "/v1/messages", INVITATION)
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["message_id"]
    assert city.get(JA, f"/v1/messages/{message_id}").status_code == 200  # JA has the data now
    with city.runtime.database.transaction() as session:  # its time in the inbox runs out
        session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    gone = city.get(JA, f"/v1/messages/{message_id}")
    assert gone.status_code == 410, gone.text

    withdrawn = city.post(
        JC, f"/v1/consents/{consent['consent_id']}/withdraw", {"channel": "written"}
    )
    assert withdrawn.status_code == 200
    (notice,) = city.get(JA, "/v1/notices").json()["notices"]
    assert notice["messages"] == [message_id]
