"""A curious agency probing for other agencies' files: whether the foreigners' office has a
person on file must not show in any answer to the job centre, whether a refusal, a conflict or
an acceptance. Nor may it plant references in another agency's name.

What a refusal may depend on: the caller's own reference (unknown to the gateway: the caller's
own files), the policy, and consents the caller is party to. Nothing else."""

from __future__ import annotations

from sqlalchemy import select

from gateway.subjects.tables import SubjectReference
from tests.adversarial.conftest import (
    ABH,
    AMIRA,
    BENEFITS,
    CONFERENCE,
    CONTACTS,
    JA,
    JC,
    OLEKSII,
    RESIDENCE,
    SA,
    City,
)

SOCIAL_ONLY = {JC: AMIRA[JC], SA: AMIRA[SA]}  # the job centre and the social office only


def _references(city: City) -> set[tuple[str, str]]:
    with city.runtime.database.transaction(read_only=True) as session:
        rows = session.execute(select(SubjectReference.agency_id, SubjectReference.reference))
        return {(agency, reference) for agency, reference in rows}


def _reasons(city: City, event: str = "exchange.decided") -> list[str | None]:
    return [entry["reason"] for entry in city.audit(event)]


def test_a_query_refusal_does_not_reveal_whether_the_provider_knows_the_person(city: City):
    city.recorded(JC, SOCIAL_ONLY, BENEFITS)  # the gateway knows the person from the job centre
    before = city.ask(JC, ABH, AMIRA[JC])
    # The social office and the foreigners' office record a consent between themselves: now
    # the foreigners' office has a reference for the person, which is none of the job
    # centre's business.
    city.recorded(SA, {SA: AMIRA[SA], ABH: AMIRA[ABH]}, {**RESIDENCE, "to": SA,
                  "purposes": ["benefit_entitlement"]})  # fmt: skip
    after = city.ask(JC, ABH, AMIRA[JC])
    assert before.status_code == after.status_code == 403
    assert before.json()["reason"] == after.json()["reason"] == "no_consent"
    assert before.json().keys() == after.json().keys()


def test_only_the_callers_own_unknown_reference_is_an_unknown_subject(city: City):
    refused = city.ask(JC, ABH, "JC-NOBODY")
    assert refused.status_code == 403
    assert refused.json()["reason"] == "unknown_subject"
    assert _reasons(city) == ["unknown_subject"]


def test_a_message_refusal_does_not_reveal_whether_the_recipient_knows_the_person(city: City):
    city.recorded(JC, SOCIAL_ONLY, BENEFITS)
    message = {"recipient": JA, "subject_ref": AMIRA[JC], "category": "case_conference",
               "purpose": "case_management", "payload": CONFERENCE}  # fmt: skip
    before = city.post(JC, "/v1/messages", message)
    city.recorded(SA, {SA: AMIRA[SA], JA: AMIRA[JA]}, {**CONTACTS, "from": SA})
    after = city.post(JC, "/v1/messages", message)
    assert before.status_code == after.status_code == 403
    assert before.json()["reason"] == after.json()["reason"] == "no_consent"


def test_a_recording_does_not_reveal_the_reference_another_agency_knows_the_person_by(city: City):
    city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    # The job centre names a made-up reference for the foreigners' office: answered as if the
    # office did not know the person, and the office's own reference is kept.
    probe = city.record(JC, {JC: AMIRA[JC], ABH: "ABH-GUESS"}, RESIDENCE)
    assert probe.status_code == 201, probe.text
    assert (ABH, "ABH-GUESS") not in _references(city)
    assert (ABH, AMIRA[ABH]) in _references(city)
    # The query the consent allows still reaches the office under its own reference.
    assert city.ask(JC, ABH, AMIRA[JC]).status_code == 200


def test_references_only_for_the_agencies_the_grants_name(city: City):
    before = _references(city)
    refused = city.record(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH], JA: "JA-PLANTED"}, RESIDENCE)
    assert refused.status_code == 422
    assert any(e["path"] == f"/body/subject/references/{JA}" for e in refused.json()["errors"])
    assert _references(city) == before
    assert city.audit("consent.recorded") == []


def test_references_naming_two_known_persons_are_refused_never_merged(city: City):
    city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    city.recorded(JC, {JC: OLEKSII[JC], ABH: OLEKSII[ABH]}, RESIDENCE)
    known = _references(city)
    refused = city.record(JC, {JC: AMIRA[JC], ABH: OLEKSII[ABH]}, RESIDENCE)
    assert refused.status_code == 409
    problem = refused.json()
    for secret in (ABH, OLEKSII[ABH], AMIRA[JC], "another reference", "already knows"):
        assert secret not in problem.get("detail", "") + problem["title"]
    assert _references(city) == known  # nothing written, nothing merged
    (entry,) = city.audit("consent.refused")  # and the refusal is on record
    assert entry["actor"] == JC
    assert entry["reason"] == "reference_conflict"
    assert "subject" not in entry  # it links nobody


def test_a_refused_recording_with_an_unknown_own_reference_plants_nothing(city: City):
    city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    city.recorded(JC, {JC: OLEKSII[JC], ABH: OLEKSII[ABH]}, {**RESIDENCE})
    known = _references(city)
    # The social office's own reference is new; the others name two different persons.
    grants = (
        {**BENEFITS, "from": JC},
        {**RESIDENCE, "to": SA, "purposes": ["benefit_entitlement"]},
    )
    refused = city.record(SA, {SA: "SA-NEW", JC: AMIRA[JC], ABH: OLEKSII[ABH]}, *grants)
    assert refused.status_code == 409
    assert _references(city) == known
