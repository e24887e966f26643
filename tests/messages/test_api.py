"""The message API: send, inbox, fetch, acknowledge; decided like queries, minimised, audited;
only the recipient sees its messages, and bad input changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from gateway.audit.tables import AuditEntry
from gateway.consents.repository import add_reference
from gateway.consents.tables import ConsentVersion
from gateway.messages import service
from gateway.messages.tables import Message
from gateway.runtime import Runtime
from gateway.subjects.repository import subject_of
from tests.exchange.world import RESIDENCE
from tests.messages.conftest import ABH, BONN, CONFERENCE, JA, JC, SA, consent_body, invitation


def messages_stored(runtime: Runtime) -> int:
    with runtime.database.transaction(read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def audited(runtime: Runtime, event: str) -> list[tuple[str | None, str | None]]:
    with runtime.database.transaction(read_only=True) as session:
        rows = session.execute(
            select(AuditEntry.decision, AuditEntry.reason)
            .where(AuditEntry.event == event)
            .order_by(AuditEntry.id)
        )
        return [(decision, reason) for decision, reason in rows]


def record(http, as_agency, grants, references=None) -> str:  # type: ignore[no-untyped-def]
    body = consent_body(grants, references)
    response = http.post("/v1/consents", json=body, headers=as_agency(JC))
    assert response.status_code == 201, response.text
    return str(response.json()["consent_id"])


# -- the good path ----------------------------------------------------------------------------


def test_an_invitation_reaches_the_recipients_inbox_under_its_own_reference(
    http, as_agency, consent_id, send
):
    sent = send()
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["message_id"]

    (summary,) = http.get("/v1/messages", headers=as_agency(JA)).json()["messages"]
    assert summary["message_id"] == message_id
    assert summary["sender"] == JC
    assert summary["subject_ref"] == "JA-0042"
    assert summary["state"] == "pending"
    assert summary["fetched"] is False

    fetched = http.get(f"/v1/messages/{message_id}", headers=as_agency(JA))
    assert fetched.status_code == 200, fetched.text
    body = fetched.json()
    assert body["payload"] == CONFERENCE
    assert body["subject_ref"] == "JA-0042"
    assert body["legal_basis"] == "consent"
    assert body["consent_id"] == consent_id
    assert body["policy_flow"] == "reference/case-contacts-and-conferences"


def test_only_the_fields_the_flow_releases_are_kept(http, as_agency, send):
    grant = {"from": ABH, "to": JC, "categories": ["residence_status"],
             "purposes": ["case_management"]}  # fmt: skip
    record(http, as_agency, [grant])
    body = invitation(
        recipient=JC, subject_ref="ABH-0815", category="residence_status", payload=RESIDENCE
    )
    message_id = send(body, sender=ABH).json()["message_id"]

    payload = http.get(f"/v1/messages/{message_id}", headers=as_agency(JC)).json()["payload"]
    assert payload == {
        "title": "residence_permit",
        "valid_until": "2027-02-28",
        "employment_permitted": "yes",
        "residence_obligation": "koeln",
    }


def test_fetching_again_delivers_again_until_acknowledged(
    http, as_agency, consent_id, send, runtime
):
    message_id = send().json()["message_id"]
    path = f"/v1/messages/{message_id}"

    first = http.get(path, headers=as_agency(JA)).json()
    second = http.get(path, headers=as_agency(JA)).json()
    assert first == second
    (summary,) = http.get("/v1/messages", headers=as_agency(JA)).json()["messages"]
    assert summary["fetched"] is True
    assert audited(runtime, "message.fetched") == [("permit", None), ("permit", None)]

    acked = http.post(f"{path}/ack", headers=as_agency(JA))
    assert acked.status_code == 200
    assert acked.json()["state"] == "acknowledged"
    again = http.post(f"{path}/ack", headers=as_agency(JA))
    assert again.json() == acked.json()
    assert len(audited(runtime, "message.acknowledged")) == 1

    gone = http.get(path, headers=as_agency(JA))
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["reason"] == "message_acknowledged"
    assert http.get("/v1/messages", headers=as_agency(JA)).json()["messages"] == []
    done = http.get("/v1/messages?state=acknowledged", headers=as_agency(JA)).json()
    assert [m["message_id"] for m in done["messages"]] == [message_id]


def test_a_fetch_names_the_consent_version_it_released_the_message_under(http, as_agency, send):
    """A partial withdrawal that leaves the message covered makes a new version; the next
    fetch rests on it, and says so, as its ledger row and audit entry do."""
    other = {"from": JC, "to": JA, "categories": ["case_contact"], "purposes": ["case_management"]}
    invitation_grant = {"from": JC, "to": JA, "categories": ["case_conference"],
                        "purposes": ["case_management"]}  # fmt: skip
    body = consent_body([invitation_grant, other])
    consent_id = http.post("/v1/consents", json=body, headers=as_agency(JC)).json()["consent_id"]
    message_id = send().json()["message_id"]
    path = f"/v1/messages/{message_id}"
    assert http.get(path, headers=as_agency(JA)).json()["consent_version"] == 1

    withdrawn = http.post(
        f"/v1/consents/{consent_id}/withdraw",
        json={"channel": "in_person", "grants": [other]},
        headers=as_agency(JC),
    )
    assert withdrawn.json()["version"] == 2

    fetched = http.get(path, headers=as_agency(JA)).json()
    assert (fetched["consent_id"], fetched["consent_version"]) == (consent_id, 2)


def test_acknowledging_deletes_the_payload_but_keeps_the_metadata(
    http, as_agency, consent_id, send, runtime
):
    message_id = send().json()["message_id"]
    http.post(f"/v1/messages/{message_id}/ack", headers=as_agency(JA))
    with runtime.database.transaction(read_only=True) as session:
        row = session.get(Message, message_id)
        assert row is not None
        assert (row.key_id, row.wrapped_key, row.nonce, row.ciphertext) == (None,) * 4
        assert (row.sender, row.recipient, row.category) == (JC, JA, "case_conference")
        assert row.closed_at is not None


def test_the_inbox_pages_through_every_message_once_in_order(http, as_agency, consent_id, send):
    sent = [send().json()["message_id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        query = "/v1/messages?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = http.get(query, headers=as_agency(JA)).json()
        seen += [message["message_id"] for message in page["messages"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sent


def test_every_send_is_audited_without_the_payload(http, as_agency, consent_id, send, runtime):
    send()
    assert audited(runtime, "message.sent") == [("permit", None)]
    with runtime.database.transaction(read_only=True) as session:
        bodies = " ".join(session.scalars(select(AuditEntry.body)))
    assert "Raum 2.14" not in bodies
    assert "JC-4711" not in bodies
    assert "JA-0042" not in bodies


# -- only the recipient -----------------------------------------------------------------------


@pytest.mark.parametrize("other", [JC, SA])
def test_nobody_but_the_recipient_can_read_or_acknowledge(
    http, as_agency, consent_id, send, runtime, other
):
    message_id = send().json()["message_id"]
    path = f"/v1/messages/{message_id}"
    assert http.get(path, headers=as_agency(other)).status_code == 404
    refused = http.post(f"{path}/ack", headers=as_agency(other))
    assert refused.status_code == 404
    assert refused.json()["type"] == "/problems/message-not-found"
    assert http.get("/v1/messages", headers=as_agency(other)).json()["messages"] == []
    # Nothing changed: the recipient still finds it pending and unread.
    (summary,) = http.get("/v1/messages", headers=as_agency(JA)).json()["messages"]
    assert summary["fetched"] is False
    assert audited(runtime, "message.fetched") == []


def test_a_client_without_the_scopes_is_refused(http, as_agency, consent_id, clients):
    from gateway.agencies.tables import ClientRole
    from tests.support import client_assertion, token_form

    dpo = clients.other("dpo-koeln", ClientRole.DPO)
    form = token_form(client_assertion(dpo.id, dpo.key, "http://localhost/oauth/token"))
    token = http.post("/oauth/token", data=form).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert http.post("/v1/messages", json=invitation(), headers=headers).status_code == 403
    assert http.get("/v1/messages", headers=headers).status_code == 403
    assert http.get("/v1/messages").status_code == 401


# -- every denial reason ----------------------------------------------------------------------


def _refused(send, runtime, body=None, sender=JC) -> str:  # type: ignore[no-untyped-def]
    response = send(body, sender=sender)
    assert response.status_code == 403, response.text
    assert response.json()["type"] == "/problems/exchange-denied"
    assert messages_stored(runtime) == 0
    return str(response.json()["reason"])


def test_without_a_consent_nothing_is_sent(http, as_agency, send, runtime):
    grant = {"from": JC, "to": SA, "categories": ["benefit_status"],
             "purposes": ["benefit_entitlement"]}  # fmt: skip
    record(http, as_agency, [grant])
    assert _refused(send, runtime) == "no_consent"
    assert audited(runtime, "message.sent") == [("deny", "no_consent")]


def test_a_category_no_flow_allows_is_refused(http, as_agency, consent_id, send, runtime):
    body = invitation(category="benefit_status", payload={"benefit": "none", "status": "applied",
                      "since": "2025-01-01", "until": None, "household_size": 2})  # fmt: skip
    assert _refused(send, runtime, body) == "no_policy"


def test_another_municipality_is_refused(http, as_agency, consent_id, send, runtime):
    # Bonn knows the person (a consent of its own would have said so); no flow crosses over.
    with runtime.database.transaction() as session:
        subject_id = subject_of(session, JC, "JC-4711")
        assert subject_id is not None
        add_reference(session, BONN, "BONN-17", subject_id)
    assert _refused(send, runtime, invitation(recipient=BONN)) == "no_policy"


def test_a_category_the_consent_does_not_cover_is_refused(http, as_agency, send, runtime):
    grant = {"from": JC, "to": JA, "categories": ["case_contact"], "purposes": ["case_management"]}
    record(http, as_agency, [grant])
    assert _refused(send, runtime) == "category_not_covered"


def test_a_purpose_the_consent_does_not_cover_is_refused(http, as_agency, send, runtime):
    grant = {"from": ABH, "to": JC, "categories": ["residence_status"],
             "purposes": ["labour_market_integration"]}  # fmt: skip
    record(http, as_agency, [grant])
    body = invitation(
        recipient=JC, subject_ref="ABH-0815", category="residence_status", payload=RESIDENCE
    )
    assert _refused(send, runtime, body, sender=ABH) == "purpose_not_covered"


def test_a_withdrawn_consent_is_refused(http, as_agency, consent_id, send, runtime):
    http.post(f"/v1/consents/{consent_id}/withdraw", json={"channel": "written"},
              headers=as_agency(JC))  # fmt: skip
    assert _refused(send, runtime) == "consent_withdrawn"


def test_an_expired_consent_is_refused(http, as_agency, consent_id, send, runtime):
    _expire_consent(runtime, consent_id)
    assert _refused(send, runtime) == "consent_expired"


def test_an_unknown_reference_is_refused(http, as_agency, consent_id, send, runtime):
    assert _refused(send, runtime, invitation(subject_ref="JC-0000")) == "unknown_subject"


def test_a_recipient_that_does_not_know_the_person_is_refused_without_saying_so(
    http, as_agency, send, runtime
):
    grant = {"from": JC, "to": SA, "categories": ["benefit_status"],
             "purposes": ["benefit_entitlement"]}  # fmt: skip
    record(http, as_agency, [grant], {JC: "JC-4711", SA: "SA-2002"})
    assert _refused(send, runtime) == "no_consent"  # not "unknown_subject": JA's files are JA's


def test_a_disabled_recipient_is_refused(http, as_agency, consent_id, send, runtime, clients):
    clients.disable(JA)
    assert _refused(send, runtime) == "agency_disabled"


# -- bad input changes nothing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"recipient": "koeln-unknown"}, 422),
        ({"recipient": JC}, 422),  # to itself
        ({"recipient": "Not An Id"}, 422),
        ({"category": "shoe_size"}, 422),
        ({"purpose": "curiosity"}, 422),
        ({"payload": {**CONFERENCE, "participants": []}}, 422),
        ({"payload": {**CONFERENCE, "starts_at": "tomorrow"}}, 422),
        ({"payload": {**CONFERENCE, "secret_note": "x"}}, 422),
        ({"payload": "an invitation"}, 422),
        ({"subject_ref": ""}, 422),
        ({"extra": True}, 422),
        ({"payload": {**CONFERENCE, "topic": "x" * 501}}, 422),
    ],
)
def test_bad_messages_are_refused_and_nothing_is_stored_or_audited(
    http, as_agency, consent_id, send, runtime, changes, status
):
    before = audited(runtime, "message.sent")
    response = send(invitation(**changes))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert messages_stored(runtime) == 0
    assert audited(runtime, "message.sent") == before


def test_schema_errors_name_the_field_but_not_its_value(http, as_agency, consent_id, send):
    response = send(invitation(payload={**CONFERENCE, "starts_at": "Frau Yilmaz um 10"}))
    assert response.status_code == 422
    problem = response.json()
    assert any(error["path"].startswith("/body/payload") for error in problem["errors"])
    assert "Yilmaz" not in response.text


def test_an_oversize_payload_is_refused_with_413(http, as_agency, consent_id, send, runtime):
    runtime_limit = runtime.settings.message_max_bytes
    big = {**CONFERENCE, "participants": [f"agency-{n:05d}" for n in range(runtime_limit // 10)]}
    response = send(invitation(payload=big))
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"
    assert messages_stored(runtime) == 0


@pytest.mark.parametrize("message_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_message_ids_are_not_found(http, as_agency, consent_id, message_id):
    assert http.get(f"/v1/messages/{message_id}", headers=as_agency(JA)).status_code == 404
    acked = http.post(f"/v1/messages/{message_id}/ack", headers=as_agency(JA))
    assert acked.status_code == 404


@pytest.mark.parametrize("query", ["state=lost", "cursor=%%%", "cursor=bm9wZQ", "limit=0",
                                   "limit=1000"])  # fmt: skip
def test_bad_inbox_queries_are_refused(http, as_agency, query):
    response = http.get(f"/v1/messages?{query}", headers=as_agency(JA))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


# -- withdrawal and expiry --------------------------------------------------------------------


def test_a_withdrawal_withholds_pending_messages_and_lists_fetched_ones(
    http, as_agency, consent_id, send, runtime
):
    fetched = send().json()["message_id"]
    unread = send().json()["message_id"]
    acked = send().json()["message_id"]
    http.get(f"/v1/messages/{fetched}", headers=as_agency(JA))
    http.get(f"/v1/messages/{acked}", headers=as_agency(JA))
    http.post(f"/v1/messages/{acked}/ack", headers=as_agency(JA))

    withdrawn = http.post(
        f"/v1/consents/{consent_id}/withdraw", json={"channel": "portal"}, headers=as_agency(JC)
    )
    assert withdrawn.status_code == 200

    for message_id in (fetched, unread):
        gone = http.get(f"/v1/messages/{message_id}", headers=as_agency(JA))
        assert gone.status_code == 410
        assert gone.json()["reason"] == "consent_withdrawn"
        with runtime.database.transaction(read_only=True) as session:
            row = session.get(Message, message_id)
            assert row is not None
            assert (row.state, row.ciphertext, row.wrapped_key) == ("withheld", None, None)
    withheld = http.get("/v1/messages?state=withheld", headers=as_agency(JA)).json()["messages"]
    assert {m["message_id"] for m in withheld} == {fetched, unread}
    assert all(m["reason"] == "consent_withdrawn" for m in withheld)
    (notice,) = http.get("/v1/notices", headers=as_agency(JA)).json()["notices"]
    assert notice["messages"] == [fetched, acked]
    assert notice["exchanges"] == []
    assert ("deny", "consent_withdrawn") not in audited(runtime, "message.sent")
    purged = audited(runtime, "message.purged")
    assert purged == [(None, "consent_withdrawn")] * 2


def test_withdrawing_another_grant_leaves_the_message_alone(http, as_agency, send):
    other = {"from": ABH, "to": JC, "categories": ["residence_status"],
             "purposes": ["case_management"]}  # fmt: skip
    consent_id = record(http, as_agency, [dict(_invitation_grant()), other])
    message_id = send().json()["message_id"]
    http.post(
        f"/v1/consents/{consent_id}/withdraw",
        json={"channel": "portal", "grants": [other]},
        headers=as_agency(JC),
    )
    fetched = http.get(f"/v1/messages/{message_id}", headers=as_agency(JA))
    assert fetched.status_code == 200  # the successor version still grants it
    assert http.get("/v1/notices", headers=as_agency(JA)).json()["notices"] == []


def test_a_message_whose_consent_expired_is_withheld_at_fetch(
    http, as_agency, consent_id, send, runtime
):
    message_id = send().json()["message_id"]
    _expire_consent(runtime, consent_id)
    gone = http.get(f"/v1/messages/{message_id}", headers=as_agency(JA))
    assert gone.status_code == 410
    assert gone.json()["reason"] == "consent_expired"
    assert "payload" not in gone.json()
    withheld = http.get("/v1/messages?state=withheld", headers=as_agency(JA)).json()["messages"]
    assert [m["message_id"] for m in withheld] == [message_id]


def test_unacknowledged_messages_expire_and_are_purged(http, as_agency, consent_id, send, runtime):
    old = send().json()["message_id"]
    assert service.expire(runtime.database, runtime.audit) == 0  # not yet
    later = datetime.now(UTC) + timedelta(days=runtime.settings.message_ttl_days, minutes=1)
    assert service.expire(runtime.database, runtime.audit, now=later) == 1

    gone = http.get(f"/v1/messages/{old}", headers=as_agency(JA))
    assert gone.status_code == 410
    assert gone.json()["reason"] == "message_expired"
    assert http.post(f"/v1/messages/{old}/ack", headers=as_agency(JA)).status_code == 410
    expired = http.get("/v1/messages?state=expired", headers=as_agency(JA)).json()["messages"]
    assert [m["message_id"] for m in expired] == [old]
    assert audited(runtime, "message.purged") == [(None, "message_expired")]
    with runtime.database.transaction(read_only=True) as session:
        row = session.get(Message, old)
        assert row is not None
        assert row.ciphertext is None


def _invitation_grant() -> dict[str, object]:
    from tests.messages.conftest import INVITATION_GRANT

    return INVITATION_GRANT


def _expire_consent(runtime: Runtime, consent_id: str) -> None:
    """As if time had passed: the consent's validity ended a minute ago."""
    with runtime.database.transaction() as session:
        session.execute(
            update(ConsentVersion)
            .where(ConsentVersion.consent_id == consent_id)
            .values(
                valid_from=datetime.now(UTC) - timedelta(days=2),
                valid_until=datetime.now(UTC) - timedelta(minutes=1),
            )
        )


def test_a_message_past_its_expiry_is_gone_before_the_sweep_purges_it(
    http, as_agency, consent_id, send, runtime
):
    message_id = send().json()["message_id"]
    with runtime.database.transaction() as session:
        session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert http.get("/v1/messages", headers=as_agency(JA)).json()["messages"] == []
    gone = http.get(f"/v1/messages/{message_id}", headers=as_agency(JA))
    assert gone.status_code == 410
    assert gone.json()["reason"] == "message_expired"
    assert http.post(f"/v1/messages/{message_id}/ack", headers=as_agency(JA)).status_code == 410
    with runtime.database.transaction(read_only=True) as session:
        row = session.get(Message, message_id)
        assert row is not None
        assert (row.state, row.ciphertext) == ("expired", None)


def test_withdrawing_a_grant_for_another_purpose_leaves_the_message_alone(
    http, as_agency, send, runtime
):
    integration = {"from": ABH, "to": JC, "categories": ["residence_status"],
                   "purposes": ["labour_market_integration"]}  # fmt: skip
    management = {**integration, "purposes": ["case_management"]}
    consent_id = record(http, as_agency, [integration, management])
    body = invitation(
        recipient=JC, subject_ref="ABH-0815", category="residence_status", payload=RESIDENCE
    )
    message_id = send(body, sender=ABH).json()["message_id"]
    http.get(f"/v1/messages/{message_id}", headers=as_agency(JC))

    http.post(
        f"/v1/consents/{consent_id}/withdraw",
        json={"channel": "portal", "grants": [integration]},
        headers=as_agency(JC),
    )
    assert http.get(f"/v1/messages/{message_id}", headers=as_agency(JC)).status_code == 200
    assert http.get("/v1/notices", headers=as_agency(JC)).json()["notices"] == []
    assert audited(runtime, "message.purged") == []
