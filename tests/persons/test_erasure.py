"""Erasure on request (Art. 17 GDPR) by command: refused while the person's consent is active,
then, once it is withdrawn and its notices answered, everything of the person is gone at
once (no subject id, no reference in any row), another person's data stays, and the audit log
still verifies, naming the erasure by the pseudonym alone."""

from __future__ import annotations

import json

from tests.adversarial.conftest import ABH, AMIRA, JC, OLEKSII, RESIDENCE, City
from tests.keys.operator import Command
from tests.lifecycle.test_erasure_proof import _everything_of_a_person, _found_in_rows

HIM = {agency: OLEKSII[agency] for agency in (JC, ABH)}


def test_an_erasure_waits_for_the_withdrawal_then_takes_everything_of_the_person(
    city: City, gateway: Command
) -> None:
    active = city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    refused = gateway("person", "erase", "--yes", "--agency", JC, "--reference", AMIRA[JC])
    assert refused.exit_code == 1
    assert "active consent" in refused.output
    assert [entry["reason"] for entry in city.audit("subject.erasure_refused")] == [
        "active_consent"
    ]
    withdrawn = city.post(JC, f"/v1/consents/{active['consent_id']}/withdraw",
                          {"channel": "in_person"})  # fmt: skip
    assert withdrawn.status_code == 200, withdrawn.text

    subject_id, _ = _everything_of_a_person(city)
    city.recorded(JC, HIM, RESIDENCE)
    runtime = city.runtime
    pseudonym = runtime.audit.pseudonymizer.pseudonym(subject_id)
    needles = [subject_id, *AMIRA.values()]
    assert _found_in_rows(city, needles)

    # Without --yes the command asks, and a "no" changes nothing.
    kept = gateway("person", "erase", "--agency", JC, "--reference", AMIRA[JC], input="n\n")
    assert kept.exit_code == 1
    assert _found_in_rows(city, needles)
    erased = gateway("person", "erase", "--agency", JC, "--reference", AMIRA[JC], input="y\n")
    assert erased.exit_code == 0, erased.output
    assert "consents=2" in erased.output

    assert _found_in_rows(city, needles) == []
    assert city.ask(JC, ABH, HIM[JC]).status_code == 200  # his data moves on
    query = city.ask(JC, ABH, AMIRA[JC])
    assert query.status_code == 403
    assert query.json()["reason"] == "unknown_subject"

    (entry,) = city.audit("subject.erased")
    assert entry["subject"] == pseudonym
    assert entry["details"]["subjects"] == pseudonym
    assert entry["actor"] == "operator"
    assert not any(needle in json.dumps(entry) for needle in needles)
    runtime.audit.publish(runtime.database)
    verified = gateway("audit", "verify", "--wait", "0")
    assert verified.exit_code == 0, verified.output
