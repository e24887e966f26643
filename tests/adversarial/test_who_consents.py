"""A misbehaving agency system records a consent that the right person did not give: a child's
consent as the child's own, or consent to pass on what a person confided to the youth welfare
office without that person (the policy marks the youth welfare office's support data as
confided, § 65 SGB VIII). Either is refused before anything is written, stays on record under
the agency's name without naming anyone, and nothing moves under it. What the gateway cannot
see (a recorder lying about the age) is signed into the receipt as the recorder's word."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.adversarial.conftest import JA, JC, City
from tests.support import confided_policies

CHILD = {JC: "JC-5150", JA: "JA-5150"}  # what the two offices call an eight-year-old
CONTACTS = {"from": JC, "to": JA, "categories": ["case_contact"], "purposes": ["case_management"]}
SUPPORT = {"from": JA, "to": JC, "categories": ["youth_welfare_support"],
           "purposes": ["case_management"]}  # fmt: skip
CONTACT = {"agency": JC, "caseworker_name": "Jana Novak", "phone": "+49 221 9429-0",
           "email": "jana.novak@jobcenter.example", "role": "caseworker"}  # fmt: skip


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    return confided_policies(tmp_path / "policies")


def as_child(*roles: str) -> dict:
    return {
        "subject": {"references": CHILD, "age_band": "minor_under_15"},
        "given_by": [{"role": role} for role in roles],
    }


def tell_contact(city: City):  # type: ignore[no-untyped-def]
    message = {"recipient": JA, "subject_ref": CHILD[JC], "category": "case_contact",
               "purpose": "case_management", "payload": CONTACT}  # fmt: skip
    return city.post(JC, "/v1/messages", message)


def test_a_childs_consent_recorded_as_the_childs_own_is_refused_and_on_record(city: City):
    refused = city.record(JC, CHILD, CONTACTS, **as_child("data_subject"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == "/problems/consent-giver-missing"
    assert refused.json()["reason"] == "guardian_required"
    assert all(reference not in refused.text for reference in CHILD.values())
    assert city.audit("consent.recorded") == []
    (entry,) = city.audit("consent.refused")
    assert (entry["requester"], entry["reason"]) == (JC, "guardian_required")
    assert "subject" not in entry  # nobody is linked to a refused recording
    # Nothing was recorded, so nothing moves about the child.
    told = tell_contact(city)
    assert (told.status_code, told.json()["reason"]) == (403, "unknown_subject")

    # With the custodian's consent (the parent signed), it is recorded, and the message goes.
    assert city.record(JC, CHILD, CONTACTS, **as_child("custodian")).status_code == 201
    assert tell_contact(city).status_code == 202


def test_consent_to_confided_data_without_the_confiding_person_is_refused(city: City):
    references = {JC: "JC-4711", JA: "JA-0042"}
    refused = city.record(JC, references, SUPPORT)  # given by the person only
    assert refused.status_code == 422, refused.text
    assert refused.json()["reason"] == "confiding_person_required"
    assert city.audit("consent.recorded") == []
    (entry,) = city.audit("consent.refused")
    assert (entry["requester"], entry["reason"]) == (JC, "confiding_person_required")
    asked = city.ask(JC, JA, references[JC], ("youth_welfare_support",), "case_management")
    assert asked.status_code == 403
    assert city.fetches.get(JA, 0) == 0


def test_a_recorder_lying_about_the_age_signs_its_word_into_the_receipt(city: City):
    """The gateway cannot see the signed paper (docs/threat-model.md, known limits): a child
    stated to be an adult is recorded, and the receipt and the audit hold the recorder to it."""
    recorded = city.record(JC, CHILD, CONTACTS, subject={"references": CHILD, "age_band": "adult"})
    assert recorded.status_code == 201, recorded.text
    payload = recorded.json()["receipt"].split(".")[1]
    receipt = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert (receipt["recorded_by"], receipt["subject_age_band"], receipt["given_by"]) == (
        JC,
        "adult",
        ["data_subject"],
    )
    (entry,) = city.audit("consent.recorded")
    assert entry["requester"] == JC
