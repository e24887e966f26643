"""Cross-agency tracing through one case: every audit entry the agency calls of a case write
(consent, message sent, fetched, acknowledged, withdrawal) carries the caller's trace id."""

from __future__ import annotations

from sqlalchemy import select

from gateway.audit.service import decode
from gateway.audit.tables import AuditEntry
from tests.messages.conftest import JA, JC, consent_body, invitation


def test_each_entry_an_agency_call_writes_carries_the_callers_trace(http, as_agency, runtime):
    """W3C ``traceparent`` on every call of one case (consent, message sent, fetched,
    acknowledged, consent withdrawn): every audit entry those calls wrote names its trace."""
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traced = {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}

    def call(method: str, path: str, agency: str, body: dict | None = None):  # type: ignore[no-untyped-def]
        response = http.request(method, path, json=body, headers=as_agency(agency) | traced)
        assert response.status_code < 300, response.text
        return response.json()

    consent_id = call("POST", "/v1/consents", JC, consent_body())["consent_id"]
    message_id = call("POST", "/v1/messages", JC, invitation())["message_id"]
    call("GET", f"/v1/messages/{message_id}", JA)
    call("POST", f"/v1/messages/{message_id}/ack", JA)
    call("POST", f"/v1/consents/{consent_id}/withdraw", JC, {"channel": "in_person"})

    with runtime.database.transaction(read_only=True) as session:
        bodies = [decode(body) for body in session.scalars(select(AuditEntry.body))]
    # Registering the agencies and issuing their tokens were not calls of this case.
    of_calls = [b for b in bodies if b["event"] not in ("client.added", "token.issued")]
    assert {b["event"] for b in of_calls} >= {
        "consent.recorded",
        "message.sent",
        "message.fetched",
        "message.acknowledged",
        "consent.withdrawn",
    }
    assert [b["event"] for b in of_calls if b.get("trace_id") != trace_id] == []
