"""Withdrawing in the portal: a confirmation page, then a form post with its CSRF token; the
effect is immediate (the next exchange under it is denied), recipients of data under it are
told, the audit names the person as actor; forged or foreign posts change nothing. A
permission keeps its number for the life of its consent, so a page gone stale still withdraws
exactly what it showed (or nothing, when that is gone already)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.agencies.repository import agencies
from gateway.audit.tables import AuditEntry
from gateway.release.decision import Deny, Permit, Reason, decide_all
from gateway.runtime import Runtime
from gateway.subjects.repository import subject_of
from tests.portal.conftest import (
    ABH,
    AMIRA,
    BENEFITS,
    HTTPS,
    JC,
    OLEKSII,
    RESIDENCE,
    SA,
    badge,
    csrf_token,
    sign_in,
)
from tests.support import add_release

WITHDRAW_FIRST = "/portal/consents/{}/permissions/1/withdraw"
WITHDRAW_SECOND = "/portal/consents/{}/permissions/2/withdraw"
WITHDRAW_ALL = "/portal/consents/{}/withdraw"


def decision(runtime: Runtime, provider: str, recipient: str, category: str, purpose: str):
    """What the exchange decides now for a query about Amira."""
    with runtime.database.transaction(read_only=True) as session:
        found = agencies(session, provider, recipient)
        return decide_all(
            session,
            runtime.policies,
            provider=found[provider],
            recipient=found[recipient],
            subject_id=subject_of(session, JC, AMIRA[JC]),
            categories=(category,),
            purpose=purpose,
            at=datetime.now(UTC),
        )[category]


def residence(runtime: Runtime):
    return decision(runtime, ABH, JC, "residence_status", "labour_market_integration")


def benefits(runtime: Runtime):
    return decision(runtime, JC, SA, "benefit_status", "benefit_entitlement")


def released(runtime: Runtime, consent_id: str) -> str:
    """An earlier release of Amira's residence status to the job centre under the consent."""
    with runtime.database.transaction() as session:
        return add_release(
            session,
            provider=ABH,
            recipient=JC,
            subject_id=subject_of(session, JC, AMIRA[JC]),
            category="residence_status",
            consent_id=consent_id,
        )


def confirm_and_post(client, path: str, **form: str):
    page = client.get(path)
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_token(page.text)} | form
    return page, client.post(path, data=data)


def test_withdrawing_one_permission_denies_its_next_exchange_at_once(signed_in, offices, runtime):
    recorded = offices.record(AMIRA)
    exchange_id = released(runtime, recorded.consent_id)
    assert isinstance(residence(runtime), Permit)
    client = signed_in(recorded)

    page, done = confirm_and_post(client, WITHDRAW_FIRST.format(recorded.consent_id))
    assert "Withdraw permission 1?" in page.text
    assert "your residence status" in page.text
    assert "which benefits you get" not in page.text  # only the one permission
    assert done.status_code == 303
    assert done.headers["location"] == "/portal/consents?notice=permission-withdrawn&permission=1"

    assert residence(runtime) == Deny(Reason.CONSENT_WITHDRAWN)
    assert isinstance(benefits(runtime), Permit)  # the other permission holds
    notices = offices.api.get("/v1/notices", headers=offices.headers(JC)).json()["notices"]
    assert [notice["exchanges"] for notice in notices] == [[exchange_id]]
    after = client.get(done.headers["location"]).text
    assert "Permission 1 is withdrawn." in after
    assert "Your other permissions keep their numbers." in after
    # Permission 1 keeps its number, now withdrawn with its date; 2 is still 2 and active.
    first, second = after.split('<div class="permission')[1:3]
    assert "Permission 1</h3>" in first
    assert badge("Withdrawn", "ended") + ' <span class="state-date">on ' in first
    assert "Permission 2</h3>" in second
    assert badge("Active", "active") + ' <span class="state-date">until ' in second


def test_withdrawing_the_whole_consent_denies_every_permission(signed_in, offices, runtime):
    recorded = offices.record(AMIRA)
    released(runtime, recorded.consent_id)
    client = signed_in(recorded)
    page, done = confirm_and_post(client, WITHDRAW_ALL.format(recorded.consent_id))
    assert "Withdraw your consent?" in page.text
    assert done.headers["location"] == "/portal/consents?notice=withdrawn"
    assert residence(runtime) == Deny(Reason.CONSENT_WITHDRAWN)
    assert benefits(runtime) == Deny(Reason.CONSENT_WITHDRAWN)
    assert len(offices.api.get("/v1/notices", headers=offices.headers(JC)).json()["notices"]) == 1
    after = client.get(done.headers["location"]).text
    assert "Your consent is withdrawn." in after
    assert badge("Withdrawn", "ended") in after
    assert "/withdraw" not in after


def test_the_audit_names_the_person_as_actor_and_the_portal_as_channel(signed_in, offices, runtime):
    recorded = offices.record(AMIRA)
    confirm_and_post(signed_in(recorded), WITHDRAW_FIRST.format(recorded.consent_id))
    with runtime.database.transaction(read_only=True) as session:
        rows = session.execute(
            select(AuditEntry.event, AuditEntry.actor, AuditEntry.requester)
            .where(AuditEntry.event.in_(["consent.withdrawn", "consent.superseded"]))
            .order_by(AuditEntry.id)
        ).all()
        body = session.scalar(
            select(AuditEntry.body).where(AuditEntry.event == "consent.withdrawn")
        )
    assert [tuple(row) for row in rows] == [
        ("consent.withdrawn", "person", None),
        ("consent.superseded", "person", None),
    ]
    assert '"channel":"portal"' in (body or "")


def test_a_forged_withdrawal_is_refused_and_changes_nothing(app, signed_in, offices, runtime):
    recorded = offices.record(AMIRA)
    client = signed_in(recorded)
    path = WITHDRAW_ALL.format(recorded.consent_id)
    for form in ({}, {"csrf_token": "z" * 43}):
        response = client.post(path, data=form)
        assert response.status_code == 403
        assert "This form has expired" in response.text
    # The token of another session (the same person in another browser) is no better.
    with TestClient(app, base_url=HTTPS, follow_redirects=False) as other_browser:
        assert sign_in(other_browser, recorded.portal_code).status_code == 303
        foreign = csrf_token(other_browser.get("/portal/consents").text)
    assert client.post(path, data={"csrf_token": foreign}).status_code == 403
    assert isinstance(residence(runtime), Permit)
    assert isinstance(benefits(runtime), Permit)


def test_a_stale_page_withdraws_the_permission_it_showed_though_places_have_shifted(
    signed_in, offices, runtime
):
    recorded = offices.record(AMIRA)
    client = signed_in(recorded)
    page = client.get(WITHDRAW_SECOND.format(recorded.consent_id))
    assert "which benefits you get" in page.text
    # Meanwhile the job centre withdraws the first permission on the person's word: the
    # benefits permission is now the first (and only) grant of version 2.
    _withdraw_residence_at_the_office(offices, recorded.consent_id)
    done = client.post(
        WITHDRAW_SECOND.format(recorded.consent_id), data={"csrf_token": csrf_token(page.text)}
    )
    assert done.headers["location"] == "/portal/consents?notice=permission-withdrawn&permission=2"
    assert benefits(runtime) == Deny(Reason.CONSENT_WITHDRAWN)


def test_a_stale_page_for_a_permission_already_withdrawn_withdraws_nothing(
    signed_in, offices, runtime
):
    recorded = offices.record(AMIRA)
    client = signed_in(recorded)
    page = client.get(WITHDRAW_FIRST.format(recorded.consent_id))
    _withdraw_residence_at_the_office(offices, recorded.consent_id)
    done = client.post(
        WITHDRAW_FIRST.format(recorded.consent_id), data={"csrf_token": csrf_token(page.text)}
    )
    assert done.headers["location"] == "/portal/consents?notice=already-withdrawn"
    assert isinstance(benefits(runtime), Permit)  # the other permission is untouched
    after = client.get(done.headers["location"]).text
    assert "This permission had already been withdrawn. Nothing else was changed." in after
    again = client.get(WITHDRAW_FIRST.format(recorded.consent_id)).text
    assert "This permission is already withdrawn." in again
    assert 'method="post" action="/portal/consents' not in again


def _withdraw_residence_at_the_office(offices, consent_id: str) -> None:
    answer = offices.api.post(
        f"/v1/consents/{consent_id}/withdraw",
        json={"channel": "in_person", "grants": [RESIDENCE]},
        headers=offices.headers(JC),
    )
    assert answer.status_code == 200, answer.text


def test_an_ended_consent_cannot_be_withdrawn_again(signed_in, offices, runtime):
    recorded = offices.record(AMIRA)
    client = signed_in(recorded)
    page = client.get(WITHDRAW_ALL.format(recorded.consent_id))
    confirm_and_post(client, WITHDRAW_ALL.format(recorded.consent_id))
    again = client.post(
        WITHDRAW_ALL.format(recorded.consent_id),
        data={"csrf_token": csrf_token(page.text)},
    )
    assert again.headers["location"] == "/portal/consents?notice=ended"
    confirmation = client.get(WITHDRAW_ALL.format(recorded.consent_id)).text
    assert "This consent is no longer active." in confirmation
    assert 'method="post" action="/portal/consents' not in confirmation


def test_another_persons_consent_cannot_be_withdrawn(signed_in, offices, runtime):
    client = signed_in(offices.record(AMIRA))
    other = offices.record(OLEKSII, BENEFITS)
    token = csrf_token(client.get("/portal/consents").text)
    for path in (WITHDRAW_ALL, WITHDRAW_FIRST):
        response = client.post(path.format(other.consent_id), data={"csrf_token": token})
        assert response.status_code == 404
    with runtime.database.transaction(read_only=True) as session:
        events = session.scalars(
            select(AuditEntry.event).where(AuditEntry.event == "consent.withdrawn")
        ).all()
    assert events == []


def test_a_permission_that_does_not_exist_is_not_found(signed_in, offices):
    recorded = offices.record(AMIRA)
    client = signed_in(recorded)
    token = csrf_token(client.get("/portal/consents").text)
    for number in (0, 3, -1):
        path = f"/portal/consents/{recorded.consent_id}/permissions/{number}/withdraw"
        assert client.get(path).status_code == 404
        assert client.post(path, data={"csrf_token": token}).status_code == 404
