"""Recipients of data under a withdrawn consent or grant are told which exchanges it affects."""

from __future__ import annotations

import jsonschema_rs

from gateway.runtime import Runtime
from gateway.subjects.repository import subject_of
from tests.consents.conftest import ABH, JA, JC, SA, consent_body
from tests.support import add_release

RESIDENCE = {"from": ABH, "to": JC, "categories": ["residence_status"],
             "purposes": ["case_management", "labour_market_integration"]}  # fmt: skip


def released(
    runtime: Runtime, consent_id: str, provider: str, recipient: str, category: str
) -> str:
    """A release as the exchange records it (the ledger notices are made from)."""
    with runtime.database.transaction() as session:
        return add_release(
            session,
            provider=provider,
            recipient=recipient,
            subject_id=subject_of(session, JC, "JC-4711"),
            category=category,
            consent_id=consent_id,
        )


def test_withdrawing_a_grant_notifies_the_recipient_of_what_it_received(http, as_agency, runtime):
    consent_id = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC)).json()[
        "consent_id"
    ]
    first = released(runtime, consent_id, ABH, JC, "residence_status")
    second = released(runtime, consent_id, ABH, JC, "residence_status")
    unaffected = released(runtime, consent_id, JC, SA, "benefit_status")

    http.post(
        f"/v1/consents/{consent_id}/withdraw",
        json={"channel": "portal", "grants": [RESIDENCE]},
        headers=as_agency(ABH),
    )

    notices = http.get("/v1/notices", headers=as_agency(JC)).json()["notices"]
    assert len(notices) == 1
    assert notices[0]["exchanges"] == [first, second]
    assert notices[0]["consent_id"] == consent_id
    assert http.get("/v1/notices", headers=as_agency(SA)).json()["notices"] == []
    assert unaffected not in notices[0]["exchanges"]


def test_a_recipient_answers_deleted_or_retained_with_a_reason(http, as_agency, runtime):
    consent_id = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC)).json()[
        "consent_id"
    ]
    released(runtime, consent_id, ABH, JC, "residence_status")
    http.post(
        f"/v1/consents/{consent_id}/withdraw", json={"channel": "written"}, headers=as_agency(JC)
    )
    (notice,) = http.get("/v1/notices", headers=as_agency(JC)).json()["notices"]
    path = f"/v1/notices/{notice['notice_id']}/ack"

    no_reason = http.post(path, json={"outcome": "retained"}, headers=as_agency(JC))
    assert no_reason.status_code == 422
    assert http.post(path, json={"outcome": "deleted"}, headers=as_agency(JA)).status_code == 404
    answered = http.post(path, json={"outcome": "deleted"}, headers=as_agency(JC))
    assert answered.status_code == 200
    assert answered.json()["outcome"] == "deleted"
    assert http.post(path, json={"outcome": "deleted"}, headers=as_agency(JC)).status_code == 200
    changed = http.post(
        path, json={"outcome": "retained", "legal_reason": "§ 84 SGB X"}, headers=as_agency(JC)
    )
    assert changed.status_code == 409
    assert http.get("/v1/notices", headers=as_agency(JC)).json()["notices"] == []
    assert (
        len(
            http.get("/v1/notices", params={"state": "all"}, headers=as_agency(JC)).json()[
                "notices"
            ]
        )
        == 1
    )


def test_no_release_means_no_notice(http, as_agency):
    consent_id = http.post("/v1/consents", json=consent_body(), headers=as_agency(JC)).json()[
        "consent_id"
    ]
    http.post(
        f"/v1/consents/{consent_id}/withdraw", json={"channel": "written"}, headers=as_agency(JC)
    )
    assert http.get("/v1/notices", headers=as_agency(JC)).json()["notices"] == []


def test_a_withdrawn_grant_for_another_purpose_leaves_releases_alone(http, as_agency, runtime):
    integration = {"from": ABH, "to": JC, "categories": ["residence_status"],
                   "purposes": ["labour_market_integration"]}  # fmt: skip
    management = {**integration, "purposes": ["case_management"]}
    body = consent_body(grants=[integration, management])
    consent_id = http.post("/v1/consents", json=body, headers=as_agency(JC)).json()["consent_id"]
    exchange_id = released(runtime, consent_id, ABH, JC, "residence_status")  # case_management

    path = f"/v1/consents/{consent_id}/withdraw"
    http.post(path, json={"channel": "portal", "grants": [integration]}, headers=as_agency(JC))
    assert http.get("/v1/notices", headers=as_agency(JC)).json()["notices"] == []

    http.post(path, json={"channel": "portal", "grants": [management]}, headers=as_agency(JC))
    (notice,) = http.get("/v1/notices", headers=as_agency(JC)).json()["notices"]
    assert notice["exchanges"] == [exchange_id]


def test_the_document_states_that_retaining_needs_a_legal_reason_as_the_server_holds(http):
    """The OpenAPI schema of the answer states the rule the server holds."""
    document = http.get("/openapi.json").json()
    schema = document["components"]["schemas"]["NoticeAck"]
    validator = jsonschema_rs.Draft202012Validator(schema)
    cases = [
        ({"outcome": "deleted"}, True),
        ({"outcome": "retained", "legal_reason": "§ 84 SGB X"}, True),
        ({"outcome": "retained"}, False),
        ({"outcome": "retained", "legal_reason": None}, False),
    ]
    for body, valid in cases:
        assert validator.is_valid(body) is valid, body
