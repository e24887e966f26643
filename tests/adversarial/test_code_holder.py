"""Someone holding a person's portal code (the person, or whoever got hold of the receipt):
they see and withdraw that person's consents, nothing of anyone else's, and the code is no key
to the agencies' API."""

from __future__ import annotations

from tests.adversarial.conftest import ABH, AMIRA, JC, OLEKSII, RESIDENCE, City, csrf_token


def _two_persons(city: City) -> tuple[dict, dict]:  # type: ignore[type-arg]
    amira = city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    oleksii = city.recorded(JC, {JC: OLEKSII[JC], ABH: OLEKSII[ABH]}, RESIDENCE)
    return amira, oleksii


def test_a_code_opens_nothing_of_another_person(city: City):
    amira, oleksii = _two_persons(city)
    with city.browser() as browser:
        assert city.sign_in(browser, amira["portal_code"]).status_code == 303
        listed = browser.get("/portal/consents").text
        assert amira["consent_id"] in listed
        assert oleksii["consent_id"] not in listed
        other = f"/portal/consents/{oleksii['consent_id']}"
        assert browser.get(f"{other}/receipt").status_code == 404
        assert browser.get(f"{other}/withdraw").status_code == 404
        own = browser.get(f"/portal/consents/{amira['consent_id']}/withdraw")
        forged = browser.post(f"{other}/withdraw", data={"csrf_token": csrf_token(own.text)})
        assert forged.status_code == 404
    assert city.audit("consent.withdrawn") == []
    assert city.ask(JC, ABH, OLEKSII[JC]).status_code == 200  # Oleksii's consent stands


def test_a_portal_session_is_no_key_to_the_api(city: City):
    amira, _ = _two_persons(city)
    with city.browser() as browser:
        city.sign_in(browser, amira["portal_code"])
        cookie = browser.cookies.get("gw_portal")
        assert cookie
        consent = f"/v1/consents/{amira['consent_id']}"
        for attempt in (
            browser.get(consent),
            browser.get(consent, headers={"Authorization": f"Bearer {cookie}"}),
            browser.post("/v1/exchanges", json={"provider": ABH, "subject_ref": AMIRA[JC],
                         "categories": ["residence_status"], "purpose": "case_management"}),
        ):  # fmt: skip
            assert attempt.status_code == 401, attempt.text


def test_a_withdrawal_without_the_pages_token_changes_nothing(city: City):
    amira, _ = _two_persons(city)
    with city.browser() as browser:
        city.sign_in(browser, amira["portal_code"])
        refused = browser.post(f"/portal/consents/{amira['consent_id']}/withdraw", data={})
        assert refused.status_code == 403
    assert city.audit("consent.withdrawn") == []
