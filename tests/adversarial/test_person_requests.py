"""An agency cannot restrict, hold or erase a person: the API has no operation for it, and its
token opens no DPO page."""

from __future__ import annotations

from tests.adversarial.conftest import ABH, AMIRA, JC, RESIDENCE, City


def test_an_agency_has_no_operation_to_restrict_hold_or_erase_a_person(city: City) -> None:
    city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    document = city.get(JC, "/openapi.json").json()
    assert not [path for path in document["paths"] if "person" in path or "erase" in path]
    for path in ("/dpo/person/control", "/dpo/person/erase"):
        response = city.post(JC, path, {"agency": JC, "reference": AMIRA[JC],
                                        "action": "restrict", "confirmed": True})  # fmt: skip
        assert response.status_code in (303, 401, 403, 422)
    assert city.audit("subject.restricted") == []
    assert city.audit("subject.erasure_refused") == []
    assert city.ask(JC, ABH, AMIRA[JC]).status_code == 200
