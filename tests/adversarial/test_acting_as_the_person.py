"""An agency acting as the person: a portal code opens everything the person may see and do,
so who may get one, how long it works and what its use leaves behind are the defence.

Actors: a curious agency that is party to a consent it did not record; an agency holding a
code; someone holding an old receipt."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from gateway.consents import portal_codes
from gateway.consents.tables import ConsentRecord, ConsentVersion, PortalCode
from tests.adversarial.conftest import (
    ABH,
    AMIRA,
    BENEFITS,
    JC,
    RESIDENCE,
    SA,
    City,
    csrf_token,
)

REFS = {JC: AMIRA[JC], ABH: AMIRA[ABH], SA: AMIRA[SA]}  # for RESIDENCE and BENEFITS
TWO = {JC: AMIRA[JC], ABH: AMIRA[ABH]}  # for RESIDENCE alone
TO_SA = {**RESIDENCE, "to": SA, "purposes": ["benefit_entitlement"]}  # the social office's
BENEFIT = {"benefit": "sgb2_citizens_income", "status": "granted", "since": "2026-01-01",
           "until": None, "household_size": 3}  # fmt: skip


def _reissue(city: City, agency: str, consent_id: str):  # type: ignore[no-untyped-def]
    return city.post(agency, f"/v1/consents/{consent_id}/portal-code")


def test_only_the_recording_agency_can_reissue_a_code(city: City):
    consent = city.recorded(JC, REFS, RESIDENCE, BENEFITS)
    for party in (SA, ABH):  # both are named in its grants, neither recorded it
        refused = _reissue(city, party, consent["consent_id"])
        assert refused.status_code == 404, refused.text
        assert refused.json()["type"].endswith("/consent-not-found")
    assert _reissue(city, JC, consent["consent_id"]).status_code == 200
    # The person's first code was ended by the recorder's re-issue, not by the refusals.
    assert city.audit("portal_code.issued")[-1]["actor"] == JC


def test_every_issue_of_a_code_is_audited_and_no_entry_holds_the_code(city: City):
    consent = city.recorded(JC, TWO, RESIDENCE)
    code = _reissue(city, JC, consent["consent_id"]).json()["portal_code"]
    issued = city.audit("portal_code.issued")
    assert [(entry["actor"], entry["details"]["reissue"]) for entry in issued] == [
        (JC, False),
        (JC, True),
    ]
    assert {entry["consent_id"] for entry in issued} == {consent["consent_id"]}
    assert issued[0]["subject"] == issued[1]["subject"]  # the person, as a pseudonym
    everything = repr(city.audit())
    for secret in (consent["portal_code"], code):
        assert secret not in everything
        assert secret.replace("-", "") not in everything


def test_a_new_code_for_a_person_ends_the_codes_issued_before_it(city: City):
    first = city.recorded(JC, TWO, RESIDENCE)
    with city.browser() as old_session:
        assert city.sign_in(old_session, first["portal_code"]).status_code == 303
        assert old_session.get("/portal/consents").status_code == 200
        # Another office records a consent of the same person: a new code, the old one ends,
        # and so does the session it opened.
        second = city.recorded(SA, {SA: AMIRA[SA], JC: AMIRA[JC]}, {**BENEFITS})
        assert old_session.get("/portal/consents").status_code == 303  # to sign in again
    with city.browser() as browser:
        assert city.sign_in(browser, first["portal_code"]).status_code == 400
    with city.browser() as browser:
        assert city.sign_in(browser, second["portal_code"]).status_code == 303
    reissued = _reissue(city, SA, second["consent_id"]).json()["portal_code"]
    with city.browser() as browser:
        assert city.sign_in(browser, second["portal_code"]).status_code == 400
    with city.browser() as browser:
        assert city.sign_in(browser, reissued).status_code == 303


def test_a_code_ends_when_the_person_has_no_consent_left_in_its_evidence_period(city: City):
    consent = city.recorded(JC, TWO, RESIDENCE)
    path = f"/v1/consents/{consent['consent_id']}/withdraw"
    withdrawn = city.post(JC, path, {"channel": "written"})
    assert withdrawn.status_code == 200
    with city.browser() as browser:  # withdrawn, but still kept as proof: the person may look
        assert city.sign_in(browser, consent["portal_code"]).status_code == 303
    # Time passes beyond the evidence period (the operator's clock is not ours to move).
    days = city.runtime.settings.consent_evidence_days
    with city.runtime.database.transaction() as session:
        version = session.get(ConsentVersion, (consent["consent_id"], 1))
        version.recorded_at -= timedelta(days=days + 2)
        version.ended_at -= timedelta(days=days + 1)
    with city.browser() as browser:
        assert city.sign_in(browser, consent["portal_code"]).status_code == 400


def test_an_old_receipts_code_does_not_open_a_newer_consent(city: City):
    old = city.recorded(JC, TWO, RESIDENCE)
    city.post(JC, f"/v1/consents/{old['consent_id']}/withdraw", {"channel": "written"})
    city.recorded(JC, TWO, RESIDENCE)  # a new consent, a new receipt, a new code
    with city.browser() as browser:
        assert city.sign_in(browser, old["portal_code"]).status_code == 400


def test_the_portal_names_the_office_that_issued_the_code_in_use(city: City):
    consent = city.recorded(JC, TWO, RESIDENCE)
    code = _reissue(city, JC, consent["consent_id"]).json()["portal_code"]
    with city.browser() as browser:
        city.sign_in(browser, code)
        page = browser.get("/portal/consents").text
        history = browser.get("/portal/history").text
    for text in (page, history):
        assert "You signed in with the code that" in text
        assert f"Agency {JC}" in text.split("You signed in with the code that")[1][:300]


def test_a_withdrawal_in_the_portal_names_the_code_issue_so_a_dpo_can_tell_who_acted(city: City):
    consent = city.recorded(JC, REFS, RESIDENCE, BENEFITS)
    code = _reissue(city, JC, consent["consent_id"]).json()["portal_code"]
    with city.browser() as browser:
        city.sign_in(browser, code)
        page = browser.get(f"/portal/consents/{consent['consent_id']}/withdraw")
        done = browser.post(
            f"/portal/consents/{consent['consent_id']}/withdraw",
            data={"csrf_token": csrf_token(page.text)},
        )
        assert done.status_code == 303, done.text
    (withdrawal,) = city.audit("consent.withdrawn")
    assert withdrawal["actor"] == "person"
    issue = withdrawal["details"]["portal_code"]
    (issued,) = [e for e in city.audit("portal_code.issued") if e["details"]["issue"] == issue]
    assert issued["actor"] == JC
    assert issued["details"]["reissue"] is True
    sign_ins = city.audit("portal.signed_in")
    assert [entry["details"]["portal_code"] for entry in sign_ins] == [issue]


def _ended_long_ago(city: City, consent_id: str) -> None:
    """Withdrawn, and its evidence period over (the operator's clock is not ours to move)."""
    path = f"/v1/consents/{consent_id}/withdraw"
    assert city.post(JC, path, {"channel": "written"}).status_code == 200
    days = city.runtime.settings.consent_evidence_days
    with city.runtime.database.transaction() as session:
        version = session.get(ConsentVersion, (consent_id, 1))
        version.recorded_at -= timedelta(days=days + 2)
        version.ended_at -= timedelta(days=days + 1)


def test_a_recorder_cannot_mint_a_code_from_a_consent_that_has_ended(city: City):
    """The job centre's consent with the person is over; the social office's runs. A code
    re-issued from the ended consent would end the person's own and open their portal."""
    old = city.recorded(JC, TWO, RESIDENCE)
    _ended_long_ago(city, old["consent_id"])
    theirs = city.recorded(SA, {SA: AMIRA[SA], ABH: AMIRA[ABH]}, TO_SA)
    minted = _reissue(city, JC, old["consent_id"])
    assert minted.status_code == 409, minted.text
    assert minted.json()["type"].endswith("/consent-not-active")
    with city.browser() as person:
        assert city.sign_in(person, theirs["portal_code"]).status_code == 303


def test_a_code_lets_in_only_while_its_own_consent_is_active_or_kept_as_proof(city: City):
    old = city.recorded(JC, TWO, RESIDENCE)
    code = _reissue(city, JC, old["consent_id"]).json()["portal_code"]  # the live code
    _ended_long_ago(city, old["consent_id"])
    # Another consent of the person, recorded without a new code (as before the upgrade: an
    # agency's other consents must not keep this code alive).
    with city.runtime.database.transaction() as session:
        live = session.scalars(select(PortalCode).where(PortalCode.ended_at.is_(None))).one()
        assert live.consent_id == old["consent_id"]
    city.recorded(SA, {SA: AMIRA[SA], ABH: AMIRA[ABH]}, TO_SA)
    with city.runtime.database.transaction() as session:  # put the old code back to live
        session.execute(
            update(PortalCode).where(PortalCode.id != live.id).values(ended_at=datetime.now(UTC))
        )
        session.execute(update(PortalCode).where(PortalCode.id == live.id).values(ended_at=None))
    with city.browser() as browser:
        assert city.sign_in(browser, code).status_code == 400


def test_two_codes_issued_at_once_leave_one_live(city: City):
    """Two offices issue a code for one person at the same moment: one live code remains."""
    first = city.recorded(JC, TWO, RESIDENCE)
    second = city.recorded(SA, {SA: AMIRA[SA], ABH: AMIRA[ABH]}, TO_SA)
    runtime = city.runtime

    def issue(consent_id: str, agency: str, hold: float) -> None:
        with runtime.database.transaction() as session:
            consent = session.get(ConsentRecord, consent_id, with_for_update=True)
            issuer = portal_codes.Issuer(agency)
            portal_codes.issue(session, runtime.audit, consent, issuer, datetime.now(UTC),
                               reissue=True)  # fmt: skip
            time.sleep(hold)  # the other issue starts meanwhile

    slow = threading.Thread(target=issue, args=(first["consent_id"], JC, 1.0))
    slow.start()
    time.sleep(0.3)
    issue(second["consent_id"], SA, 0.0)
    slow.join()
    with runtime.database.transaction(read_only=True) as session:
        live = session.scalars(select(PortalCode).where(PortalCode.ended_at.is_(None))).all()
    assert len(live) == 1


def test_portal_actions_name_the_office_that_gave_the_code(city: City):
    """So that the audit alone tells a DPO whose code acted, without the editable table of
    codes (codes carried over from before the upgrade have no issue entry): the sign-in, the
    withdrawal, and the messages it withholds."""
    consent = city.recorded(JC, REFS, RESIDENCE, BENEFITS)
    message = {"recipient": SA, "subject_ref": AMIRA[JC], "category": "benefit_status",
               "purpose": "benefit_entitlement", "payload": BENEFIT}  # fmt: skip
    assert city.post(JC, "/v1/messages", message).status_code == 202
    with city.browser() as browser:
        city.sign_in(browser, consent["portal_code"])
        page = browser.get(f"/portal/consents/{consent['consent_id']}/withdraw")
        browser.post(
            f"/portal/consents/{consent['consent_id']}/withdraw",
            data={"csrf_token": csrf_token(page.text)},
        )
    for event in ("portal.signed_in", "consent.withdrawn", "message.purged"):
        (entry,) = city.audit(event)
        assert entry["details"]["code_issued_by"] == JC
