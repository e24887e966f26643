"""A restriction (Art. 18 GDPR) stops every release about the person, whichever way data would
leave (query, message sent, message fetched), with ``processing_restricted``, and changes
nothing: a message waits, the consent stays; lifting it lets data move again."""

from __future__ import annotations

import json

from sqlalchemy import select

from gateway.messages.tables import Message
from tests.adversarial.conftest import (
    ABH,
    AMIRA,
    CONFERENCE,
    CONTACTS,
    JA,
    JC,
    OLEKSII,
    RESIDENCE,
    City,
)
from tests.keys.operator import Command

INVITATION = {"recipient": JA, "subject_ref": AMIRA[JC], "category": "case_conference",
              "purpose": "case_management", "payload": CONFERENCE}  # fmt: skip
HER = {agency: AMIRA[agency] for agency in (JC, ABH, JA)}
HIM = {agency: OLEKSII[agency] for agency in (JC, ABH)}
NOTE = "Frau Example disputes the accuracy, letter of 3 March"


def _state(city: City, message_id: str) -> str:
    with city.runtime.database.transaction(read_only=True) as session:
        return str(session.scalar(select(Message.state).where(Message.id == message_id)))


def test_a_restricted_person_is_released_by_no_path_and_nothing_changes(
    city: City, gateway: Command
) -> None:
    city.recorded(JC, HER, RESIDENCE, CONTACTS)
    city.recorded(JC, HIM, RESIDENCE)
    sent = city.post(JC, "/v1/messages", INVITATION)
    assert sent.status_code == 202, sent.text
    waiting = sent.json()["message_id"]

    done = gateway("person", "restrict", "--agency", JC, "--reference", AMIRA[JC],
                   "--reason", NOTE)  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "restricted" in done.output
    asked_before = city.fetches.get(ABH, 0)

    query = city.ask(JC, ABH, AMIRA[JC])
    assert query.status_code == 403
    assert query.json()["reason"] == "processing_restricted"
    assert city.fetches.get(ABH, 0) == asked_before  # the provider was not even asked
    message = city.post(JC, "/v1/messages", INVITATION)
    assert message.status_code == 403
    assert message.json()["reason"] == "processing_restricted"
    fetched = city.get(JA, f"/v1/messages/{waiting}")
    assert fetched.status_code == 403
    assert fetched.json()["reason"] == "processing_restricted"
    assert _state(city, waiting) == "pending"  # waits, neither withheld nor purged
    # Another person's data moves as before.
    assert city.ask(JC, ABH, OLEKSII[JC]).status_code == 200

    refusals = [
        entry for entry in city.audit() if entry and entry.get("reason") == "processing_restricted"
    ]
    assert {entry["event"] for entry in refusals} == {
        "exchange.decided", "message.sent", "message.fetched"
    }  # fmt: skip

    lifted = gateway("person", "unrestrict", "--agency", JC, "--reference", AMIRA[JC])
    assert lifted.exit_code == 0, lifted.output
    assert city.ask(JC, ABH, AMIRA[JC]).status_code == 200
    assert city.get(JA, f"/v1/messages/{waiting}").status_code == 200
    assert city.post(JC, "/v1/messages", INVITATION).status_code == 202

    # Both changes are on record under the person's pseudonym; the DPO's note is not.
    entries = city.audit("subject.restricted") + city.audit("subject.restriction_lifted")
    assert len(entries) == 2
    assert all(entry["subject"] and entry["actor"] == "operator" for entry in entries)
    assert NOTE not in json.dumps(city.audit())
    assert AMIRA[JC] not in json.dumps(city.audit())


def test_restricting_twice_records_once(city: City, gateway: Command) -> None:
    city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    for _ in range(2):
        assert (
            gateway("person", "restrict", "--agency", JC, "--reference", AMIRA[JC]).exit_code == 0
        )
    again = gateway("person", "restrict", "--agency", JC, "--reference", AMIRA[JC])
    assert "already restricted" in again.output
    assert len(city.audit("subject.restricted")) == 1


def test_an_unknown_agency_or_reference_is_not_found_without_saying_which(
    city: City, gateway: Command
) -> None:
    city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    answers = [
        gateway("person", "restrict", "--agency", JC, "--reference", "JC-nobody"),
        gateway("person", "restrict", "--agency", "no-such-agency", "--reference", AMIRA[JC]),
        gateway("person", "erase", "--yes", "--agency", ABH, "--reference", AMIRA[JC]),
    ]
    assert {answer.exit_code for answer in answers} == {1}
    assert len({answer.output for answer in answers}) == 1
    assert "knows nobody" in answers[0].output
    assert city.audit("subject.restricted") == []


def test_an_agency_without_a_consent_does_not_learn_of_a_restriction(
    city: City, gateway: Command
) -> None:
    """That a DPO restricted a person is itself sensitive: an agency the person gave no
    consent to hears only the reason it would hear anyway."""
    city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    done = gateway("person", "restrict", "--agency", JC, "--reference", AMIRA[JC])
    assert done.exit_code == 0, done.output
    asked = city.ask(JC, ABH, AMIRA[JC], purpose="benefit_entitlement")
    assert asked.status_code == 403
    assert asked.json()["reason"] != "processing_restricted"
