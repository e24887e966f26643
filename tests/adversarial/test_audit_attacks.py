"""Attacks on promise 6 (the audit log is tamper-evident and holds no readable personal data)
and on the trace a DPO's look leaves, by the actors who can reach the log:

- the operator, who can write to the database (with or without its triggers) and runs the
  ``gateway`` command beside the live gateway, but has no business erasing the log's history;
- a DPO tool with export rights (scope ``audit:read``), who reads every entry and may try to
  recover what was released, or link persons, from what the entries carry.
"""

from __future__ import annotations

import json
from typing import Any

from tests.adversarial.conftest import ABH, AMIRA, DPO, JC, RESIDENCE, City


def released(city: City, person: dict[str, str] = AMIRA, **headers: str) -> dict[str, Any]:
    """A consented query of the job centre for the person's residence status, answered."""
    city.recorded(JC, {JC: person[JC], ABH: person[ABH]}, RESIDENCE)
    response = city.ask(JC, ABH, person[JC], **headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]["residence_status"]
    return data


# -- 3. the API's access report leaves a trace -------------------------------------------------


def test_a_dpo_looking_through_the_api_shows_in_the_persons_next_report(city: City):
    released(city)
    first = city.get(DPO, "/v1/audit/access-report", agency=JC, subject_ref=AMIRA[JC])
    assert first.status_code == 200, first.text
    assert "dpo.access_report" not in [record["event"] for record in first.json()["records"]]

    second = city.get(DPO, "/v1/audit/access-report", agency=ABH, subject_ref=AMIRA[ABH])
    assert second.status_code == 200, second.text
    looks = [r for r in second.json()["records"] if r["event"] == "dpo.access_report"]
    assert len(looks) == 1
    recorded = [body for body in city.audit("dpo.access_report") if body]
    assert [looked["actor"] for looked in recorded] == [DPO, DPO]  # both looks
    assert recorded[0]["subject"] == recorded[1]["subject"]  # at one person, by two references
    assert AMIRA[JC] not in json.dumps(recorded)
