"""The harness itself: an honest consented query works end to end, so that every refusal the
attacks below see is the gateway's doing, not a broken set-up."""

from __future__ import annotations

from tests.adversarial.conftest import ABH, AMIRA, JC, RESIDENCE, City


def test_an_honest_query_is_answered(city: City):
    city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    response = city.ask(JC, ABH, AMIRA[JC])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["residence_status"]["title"] == "residence_permit"
