"""Cross-agency tracing: a caller's W3C ``traceparent`` reaches the provider's system with the
same trace id, and the trace id is in the decision's audit entry, so one case can be followed
across the agencies' systems. Nothing else of the caller's passes to the provider."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from gateway.agencies.tables import ClientRole
from gateway.audit.service import decode
from gateway.audit.tables import AuditEntry
from gateway.client import AgencyKey, GatewayClient, TokenSource
from gateway.observability.tracing import parse
from tests.exchange.world import ABH, JC, World
from tests.support import RegisteredClient, client_assertion, token_form

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def decisions(world: World) -> list[dict]:
    with world.gateway.runtime.database.transaction(read_only=True) as session:
        bodies = session.scalars(
            select(AuditEntry.body)
            .where(AuditEntry.event == "exchange.decided")
            .order_by(AuditEntry.id)
        )
        return [decode(body) for body in bodies]


def provider_trace(world: World) -> tuple[str, str]:
    """The trace id and parent id of the one call the provider's system received."""
    (headers,) = world.provider_requests
    traceparent = headers["traceparent"]
    assert parse(traceparent) is not None, traceparent
    _, trace_id, parent_id, _ = traceparent.split("-")
    return trace_id, parent_id


def test_the_callers_trace_reaches_the_provider_and_the_audit_entry(world: World):
    world.record_consent()
    response = world.ask(headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200, response.text
    trace_id, parent_id = provider_trace(world)
    assert trace_id == TRACE_ID
    assert parent_id != PARENT_ID  # the gateway's own span: it made this call
    assert world.provider_requests[0]["traceparent"].endswith("-01")  # sampled, as the caller said
    (entry,) = decisions(world)
    assert entry["decision"] == "permit"
    assert entry["trace_id"] == TRACE_ID


def test_the_dpo_reads_the_trace_id_in_the_audit_api(world: World):
    world.record_consent()
    world.ask(headers={"traceparent": TRACEPARENT})
    dpo = world.gateway.clients.other("dpo-koeln", ClientRole.DPO)
    entries = _audit_entries(world, dpo)
    assert [e["trace_id"] for e in entries if e["event"] == "exchange.decided"] == [TRACE_ID]


def test_a_query_without_a_trace_starts_one_that_provider_and_audit_share(world: World):
    world.record_consent()
    assert world.ask().status_code == 200
    trace_id, _ = provider_trace(world)
    (entry,) = decisions(world)
    assert entry["trace_id"] == trace_id


def test_an_invalid_traceparent_is_ignored_not_refused(world: World):
    world.record_consent()
    response = world.ask(headers={"traceparent": TRACEPARENT.upper()})
    assert response.status_code == 200, response.text
    trace_id, _ = provider_trace(world)
    assert trace_id != TRACE_ID
    assert decisions(world)[0]["trace_id"] == trace_id


def test_a_refusal_carries_the_callers_trace_too(world: World):
    response = world.ask(headers={"traceparent": TRACEPARENT})  # no consent recorded
    assert response.status_code == 403
    (entry,) = decisions(world)
    assert entry["decision"] == "deny"
    assert entry["trace_id"] == TRACE_ID
    assert world.provider_requests == []  # nothing asked of the provider


def test_the_callers_tracestate_and_baggage_never_reach_the_provider(world: World):
    """Free text a requesting agency could use to pass anything to the provider agency."""
    world.record_consent()
    note = "fam=Yilmaz;ref=JC-4711"
    headers = {"traceparent": TRACEPARENT, "tracestate": f"jc={note}", "baggage": f"note={note}"}
    assert world.ask(headers=headers).status_code == 200
    (seen,) = world.provider_requests
    assert "tracestate" not in seen
    assert "baggage" not in seen
    assert not any(note in value for value in seen.values())


def test_the_trace_is_in_the_audit_of_consents_and_messages_alike(world: World):
    """Every agency call that writes an audit entry records its trace id."""
    response = world.post(
        "/v1/consents", world.consent_body(), world.jc, headers={"traceparent": TRACEPARENT}
    )
    assert response.status_code == 201, response.text
    with world.gateway.runtime.database.transaction(read_only=True) as session:
        bodies = [decode(b) for b in session.scalars(select(AuditEntry.body))]
    recorded = [body for body in bodies if body["event"] == "consent.recorded"]
    assert recorded
    assert all(body["trace_id"] == TRACE_ID for body in recorded)


def _audit_entries(world: World, dpo: RegisteredClient) -> list[dict]:
    endpoint = world.gateway.token_endpoint
    form = token_form(client_assertion(dpo.id, dpo.key, endpoint))
    token = httpx.post(endpoint, data=form).json()["access_token"]
    answer = httpx.get(
        f"{world.gateway.url}/v1/audit/entries", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["entries"])


def test_the_sdk_sends_the_callers_current_trace(world: World):
    world.record_consent()
    tokens = TokenSource(world.gateway.token_endpoint, AgencyKey(JC, world.jc.key))
    with GatewayClient(world.gateway.url, tokens, traceparent=lambda: TRACEPARENT) as jobcenter:
        jobcenter.query(ABH, "JC-4711", ["residence_status"], "labour_market_integration")
    assert provider_trace(world)[0] == TRACE_ID
    assert decisions(world)[0]["trace_id"] == TRACE_ID
