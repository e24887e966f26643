"""Emergency access (§ 8a SGB VIII) in the person's portal: each emergency query shows under
"Who asked about me" with a heading of its own and what it means; what a DPO deferred leaves no
trace on the pages until its date, and then shows by itself; and the consents pages say, in
every language, that withdrawing a consent does not stop emergency access.

These run in the emergency tests' world (a live gateway, the foreigners' office's system behind
it, a youth welfare office with emergency access); the person's browser is a test client over
https on the same gateway."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from gateway.app import create_app
from gateway.emergency import review
from gateway.emergency.tables import EmergencyWindow
from gateway.web.i18n import LANGUAGES, catalogue
from tests.emergency.world import JUSTIFICATION, Emergency
from tests.exchange.conftest import gateway_settings, world
from tests.exchange.world import ABH, World
from tests.portal.conftest import HTTPS, badge, csrf_token, sign_in

__all__ = ["gateway_settings", "world"]

ASKED_IN_AN_EMERGENCY = (
    "<bdi>Agency koeln-jugendamt</bdi> (youth welfare office) asked "
    "<bdi>Agency koeln-auslaenderbehoerde</bdi> (foreigners' office) about you in an "
    "emergency, to protect a child</h2>"
)
WHY = "This did not need your consent. The law (§ 8a SGB VIII) allows the youth welfare office"
CARD = '<section class="card event"'


@pytest.fixture
def provider_timeout() -> float:
    return 10.0  # the foreigners' office's system always answers here; never time out


@pytest.fixture
def emergency(world: World) -> Emergency:
    emergency = Emergency(world)
    emergency.grant()
    return emergency


@pytest.fixture
def browser(world: World) -> Iterator[TestClient]:
    """The person's browser: https (Secure cookies travel), English, no redirects followed."""
    app = create_app(runtime=world.gateway.runtime)
    with TestClient(
        app,
        base_url=HTTPS,
        raise_server_exceptions=False,
        follow_redirects=False,
        headers={"Accept-Language": "en"},
    ) as client:
        yield client


def signed_in(browser: TestClient, recorded: dict[str, Any]) -> TestClient:
    answer = sign_in(browser, recorded["portal_code"])
    assert answer.status_code == 303, answer.text
    return browser


def consented_query(emergency: Emergency) -> str:
    """The youth welfare office asks under the person's consent (case management)."""
    body = {"provider": ABH, "subject_ref": "JA-77", "categories": ["residence_status"],
            "purpose": "case_management"}  # fmt: skip
    response = emergency.world.post("/v1/exchanges", body, emergency.ja)
    assert response.status_code == 200, response.text
    assert response.json()["consent_id"] is not None
    return str(response.json()["exchange_id"])


def refused_attempt(emergency: Emergency) -> None:
    """An emergency query for a reason the emergency flow does not list: refused, audited."""
    response = emergency.ask(JUSTIFICATION | {"reason": "unlisted_reason"})
    assert response.status_code == 403, response.text
    assert response.json()["reason"] == "emergency_reason_not_listed"


def defer(emergency: Emergency, window_id: str, days: int = 10) -> None:
    runtime = emergency.world.gateway.runtime
    now = datetime.now(UTC)
    review.defer(
        runtime.database,
        runtime.audit,
        window_id,
        until=now + timedelta(days=days),
        reason="Telling the parents now would put the child at risk.",
        actor="dpo-anna",
        now=now,
        max_days=runtime.settings.emergency_max_deferral_days,
    )


def cards(page: str) -> list[str]:
    return page.split("<main", 1)[1].split(CARD)[1:]


def test_an_emergency_query_shows_with_its_own_heading_and_why_it_needed_no_consent(
    emergency: Emergency, browser: TestClient
):
    recorded = emergency.recorded_consent()
    consented_query(emergency)
    assert emergency.ask().status_code == 200

    page = signed_in(browser, recorded).get("/portal/history").text

    newest, oldest = cards(page)
    assert ASKED_IN_AN_EMERGENCY in newest
    assert WHY in newest
    assert "A data protection officer checks every such request." in newest
    assert badge("Passed on", "shared") in newest
    # The consent-based one is told as before: no emergency heading, no explanation.
    assert "(foreigners' office) about you</h2>" in oldest
    assert "emergency" not in oldest
    assert WHY not in oldest


def test_a_deferred_emergency_leaves_no_trace_until_its_date_and_then_shows_by_itself(
    emergency: Emergency, browser: TestClient
):
    recorded = emergency.recorded_consent()
    answer = emergency.ask().json()
    exchange_id, window_id = answer["exchange_id"], answer["emergency_window"]["id"]
    refused_attempt(emergency)  # by the same office: it would give the emergency away
    defer(emergency, window_id)
    client = signed_in(browser, recorded)

    for lang, word in (("de", "notfall"), ("ar", "طارئ"), ("en", "emergency")):  # English last
        page = client.get(f"/portal/history?lang={lang}").text
        main = page.split("<main", 1)[1]
        for hidden in (exchange_id, window_id, word):
            assert hidden not in main.lower(), (lang, hidden)
        assert cards(page) == []
        # The office that asked is named on the page only as the one that gave the code.
        assert main.count("koeln-jugendamt</bdi>") == 1, lang
    assert "Nobody has asked about you yet." in client.get("/portal/history").text
    wrong = f"/portal/history/releases/{exchange_id}/residence_status/wrong"
    assert client.get(wrong).status_code == 404
    assert client.post(wrong, data={"csrf_token": csrf_token(page), "text": "x"}).status_code == 404

    runtime = emergency.world.gateway.runtime
    with runtime.database.transaction() as session:  # the date has passed
        session.execute(
            update(EmergencyWindow)
            .where(EmergencyWindow.id == window_id)
            .values(deferred_until=datetime.now(UTC) - timedelta(minutes=1))
        )

    page = client.get("/portal/history").text
    refusal, release = cards(page)
    assert ASKED_IN_AN_EMERGENCY in refusal
    assert WHY in refusal
    reason = "The rules do not allow an emergency request for this reason."
    assert badge("Refused", "refused") + " " + reason in refusal
    assert ASKED_IN_AN_EMERGENCY in release
    assert badge("Passed on", "shared") in release
    # What was passed on in it can now be said to be wrong, like anything else passed on.
    assert f"/portal/history/releases/{exchange_id}/residence_status/wrong" in page
    assert client.get(wrong).status_code == 200


def test_a_refused_attempt_shows_while_nothing_of_that_office_is_deferred(
    emergency: Emergency, browser: TestClient
):
    recorded = emergency.recorded_consent()
    refused_attempt(emergency)
    page = signed_in(browser, recorded).get("/portal/history").text
    (refusal,) = cards(page)
    assert ASKED_IN_AN_EMERGENCY in refusal
    assert badge("Refused", "refused") in refusal


def test_a_deferral_hides_only_its_own_window_not_one_shown_before(
    emergency: Emergency, browser: TestClient
):
    recorded = emergency.recorded_consent()
    first = emergency.ask().json()
    runtime = emergency.world.gateway.runtime
    with runtime.database.transaction() as session:  # that window ran out
        session.execute(
            update(EmergencyWindow)
            .where(EmergencyWindow.id == first["emergency_window"]["id"])
            .values(closes_at=datetime.fromisoformat(first["emergency_window"]["opened_at"]))
        )
    second = emergency.ask().json()
    assert second["emergency_window"]["id"] != first["emergency_window"]["id"]
    defer(emergency, second["emergency_window"]["id"])

    page = signed_in(browser, recorded).get("/portal/history").text
    (shown,) = cards(page)
    assert ASKED_IN_AN_EMERGENCY in shown
    assert first["exchange_id"] in page  # its release, under "What offices passed on"
    assert second["exchange_id"] not in page


def _said(code: str, msgid: str) -> str:
    return html.escape(catalogue(code).gettext(msgid), quote=True)


NOTE = "Emergencies to protect a child"
STILL = (
    "If you withdraw your consent, offices can still ask about you in an emergency. This does "
    "not need your consent: the law (§ 8a SGB VIII) allows the youth welfare office to ask when "
    "a child may be in danger."
)
CHECKED = (
    "A data protection officer checks each such request. You see it under %(link)s. Sometimes "
    "you see it only later, when showing it at once could put a child in danger. But it is "
    "never hidden for good."
)


def test_withdrawing_consent_leaves_emergency_access_and_the_pages_say_so_in_every_language(
    emergency: Emergency, browser: TestClient
):
    recorded = emergency.recorded_consent()
    client = signed_in(browser, recorded)
    confirm = client.get(f"/portal/consents/{recorded['consent_id']}/withdraw")
    assert STILL in confirm.text
    done = client.post(
        f"/portal/consents/{recorded['consent_id']}/withdraw",
        data={"csrf_token": csrf_token(confirm.text)},
    )
    assert done.status_code == 303, done.text

    assert emergency.ask().status_code == 200  # it never rested on the consent

    for code in LANGUAGES:
        page = client.get(f"/portal/consents?lang={code}").text
        assert f'<h2 id="emergency-note">{_said(code, NOTE)}</h2>' in page, code
        assert _said(code, STILL) in page, code
        link = f'<a href="/portal/history">{_said(code, "Who asked about me")}</a>'
        checked = _said(code, CHECKED).replace("%(link)s", link)
        assert checked in page, code


def test_a_deferral_written_into_the_database_beyond_any_bound_hides_nothing(
    emergency: Emergency, browser: TestClient
):
    """An operator with the database sets a window's deferral ten years ahead, past what any
    deployment may set (and with no deferral on record): the person sees the access anyway."""
    recorded = emergency.recorded_consent()
    answer = emergency.ask().json()
    runtime = emergency.world.gateway.runtime
    with runtime.database.transaction() as session:
        session.execute(
            update(EmergencyWindow)
            .where(EmergencyWindow.id == answer["emergency_window"]["id"])
            .values(deferred_until=datetime.now(UTC) + timedelta(days=3650))
        )

    page = signed_in(browser, recorded).get("/portal/history").text

    (card,) = cards(page)
    assert ASKED_IN_AN_EMERGENCY in card
