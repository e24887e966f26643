"""Messages end to end over real HTTP: the gateway as a uvicorn server, the SDK as the caller for
both agencies. The job centre invites the youth welfare office to a case conference; the youth
welfare office reads its inbox, fetches (as often as it needs), and acknowledges; refusals,
withdrawals and the reference simulator's receiver (at-least-once, filed once) follow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from consent.vocabulary import AgencyKind
from gateway.audit.tables import AuditEntry
from gateway.client import (
    AgencyKey,
    ExchangeDenied,
    GatewayClient,
    InvalidRequest,
    MessageGone,
    NotFound,
    PayloadTooLarge,
    TokenSource,
)
from gateway.simulator.inbox import receive
from tests.support import LiveServer, RegisteredClient, named_in, start_live_server

ABH, JC, JA = "koeln-auslaenderbehoerde", "koeln-jobcenter", "koeln-jugendamt"
JC_REF, JA_REF, ABH_REF = "JC-4711", "JA-0042", "ABH-0815"
CONFERENCE = {
    "starts_at": "2026-12-03T10:00:00+01:00",
    "location": "Jobcenter Köln, Raum 2.14",
    "topic": "Hilfeplan und Sprachkurs",
    "participants": [JC, JA],
}
INVITATION = (JA, JC_REF, "case_conference", "case_management")
INVITATION_GRANT = {
    "from": JC,
    "to": JA,
    "categories": ["case_conference"],
    "purposes": ["case_management"],
}
RESIDENCE_GRANT = {
    "from": ABH,
    "to": JC,
    "categories": ["residence_status"],
    "purposes": ["labour_market_integration"],
}


def consent(*grants: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "subject": {
            "references": named_in({JC: JC_REF, JA: JA_REF, ABH: ABH_REF}, list(grants)),
            "age_band": "adult",
        },
        "given_by": [{"role": "data_subject"}],
        "grants": list(grants),
        "valid_from": (now - timedelta(minutes=1)).isoformat(),
        "valid_until": (now + timedelta(days=90)).isoformat(),
        "notice": {
            "form_id": "cross-agency-case-management",
            "form_version": "1",
            "language": "de",
        },
        "evidence": {"channel": "paper_signed"},
    }


def connect(
    gateway: LiveServer, agency: RegisteredClient, cls: type[GatewayClient] = GatewayClient
) -> GatewayClient:
    """An agency system's SDK client, getting its tokens with the agency's key."""
    tokens = TokenSource(gateway.token_endpoint, AgencyKey(agency.id, agency.key))
    return cls(gateway.url, tokens, caseworker=f"cw-{agency.id}")


@dataclass
class World:
    gateway: LiveServer
    keys: dict[str, RegisteredClient]
    jobcenter: GatewayClient
    youth_welfare: GatewayClient

    def client(self, agency_id: str, cls: type[GatewayClient] = GatewayClient) -> GatewayClient:
        return connect(self.gateway, self.keys[agency_id], cls)

    def audit(self, event: str) -> list[tuple[str | None, str | None]]:
        with self.gateway.runtime.database.transaction(read_only=True) as session:
            rows = session.execute(
                select(AuditEntry.decision, AuditEntry.reason)
                .where(AuditEntry.event == event)
                .order_by(AuditEntry.id)
            )
            return [tuple(row) for row in rows]

    def caseworkers(self, event: str) -> list[str | None]:
        with self.gateway.runtime.database.transaction(read_only=True) as session:
            bodies = session.scalars(
                select(AuditEntry.body).where(AuditEntry.event == event).order_by(AuditEntry.id)
            )
            return [json.loads(body)["caseworker"] for body in bodies if body]


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    settings = {"message_max_bytes": 512}  # small, so that a valid payload can be too large
    with start_live_server(database_url, tmp_path / "gateway", **settings) as live:
        clients = live.clients
        keys = {
            ABH: clients.agency(ABH, AgencyKind.FOREIGNERS_OFFICE),
            JC: clients.agency(JC, AgencyKind.JOB_CENTRE),
            JA: clients.agency(JA, AgencyKind.YOUTH_WELFARE_OFFICE),
        }
        with connect(live, keys[JC]) as jobcenter, connect(live, keys[JA]) as youth_welfare:
            yield World(live, keys, jobcenter, youth_welfare)


# -- one invitation, from sending to acknowledging --------------------------------------------


def test_an_invitation_is_delivered_under_the_recipients_own_reference(world: World):
    world.jobcenter.record_consent(consent(INVITATION_GRANT))
    message_id = world.jobcenter.send_message(*INVITATION, dict(CONFERENCE))

    (pending,) = world.youth_welfare.inbox()
    assert pending["message_id"] == message_id
    assert (pending["sender"], pending["subject_ref"]) == (JC, JA_REF)
    assert (pending["category"], pending["purpose"]) == ("case_conference", "case_management")
    assert (pending["state"], pending["fetched"]) == ("pending", False)

    message = world.youth_welfare.fetch_message(message_id)
    assert message["subject_ref"] == JA_REF
    assert message["payload"] == CONFERENCE  # the flow releases all four fields, nothing more
    assert set(message["payload"]) == {"starts_at", "location", "topic", "participants"}
    assert message["legal_basis"] == "consent"
    assert message["policy_flow"].endswith("/case-contacts-and-conferences")
    assert JC_REF not in repr(message) + repr(pending)  # never the sender's reference

    # At-least-once: the recipient may fetch again until it acknowledges.
    assert world.youth_welfare.fetch_message(message_id) == message
    (pending,) = world.youth_welfare.inbox()
    assert pending["fetched"] is True

    acked = world.youth_welfare.ack_message(message_id)
    assert (acked["message_id"], acked["state"]) == (message_id, "acknowledged")
    assert world.youth_welfare.ack_message(message_id) == acked  # idempotent

    assert list(world.youth_welfare.inbox()) == []
    assert [m["message_id"] for m in world.youth_welfare.inbox("acknowledged")] == [message_id]
    with pytest.raises(MessageGone) as gone:
        world.youth_welfare.fetch_message(message_id)
    assert (gone.value.status, gone.value.reason) == (410, "message_acknowledged")
    assert gone.value.type.endswith("/problems/message-gone")

    assert world.audit("message.sent") == [("permit", None)]
    assert world.audit("message.fetched") == [("permit", None), ("permit", None)]
    assert len(world.audit("message.acknowledged")) == 1
    # The SDK sends X-Caseworker; the audit keeps it as the agency's keyed pseudonym (issue 16).
    pseudonym = world.gateway.runtime.audit.digests.caseworker
    assert world.caseworkers("message.sent") == [pseudonym(JC, f"cw-{JC}")]
    assert world.caseworkers("message.fetched") == [pseudonym(JA, f"cw-{JA}")] * 2


def test_only_the_recipient_sees_a_message(world: World):
    world.jobcenter.record_consent(consent(INVITATION_GRANT))
    message_id = world.jobcenter.send_message(*INVITATION, dict(CONFERENCE))
    assert list(world.jobcenter.inbox()) == []
    with pytest.raises(NotFound):
        world.jobcenter.fetch_message(message_id)
    with pytest.raises(NotFound):
        world.jobcenter.ack_message(message_id)
    with pytest.raises(NotFound):
        world.youth_welfare.fetch_message("00000000-0000-4000-8000-000000000000")


def test_the_inbox_follows_next_cursor_through_every_page(world: World):
    world.jobcenter.record_consent(consent(INVITATION_GRANT))
    sent = [
        world.jobcenter.send_message(*INVITATION, dict(CONFERENCE, topic=f"Termin {n}"))
        for n in range(5)
    ]
    assert [m["message_id"] for m in world.youth_welfare.inbox(limit=2)] == sent
    # Acknowledging while iterating (as a receiver does) skips nothing.
    seen = []
    for summary in world.youth_welfare.inbox(limit=2):
        seen.append(summary["message_id"])
        world.youth_welfare.ack_message(summary["message_id"])
    assert seen == sent
    assert list(world.youth_welfare.inbox()) == []


# -- refusals ---------------------------------------------------------------------------------


def test_refused_messages_raise_exchange_denied_with_the_reason(world: World):
    with pytest.raises(ExchangeDenied) as unknown:
        world.jobcenter.send_message(*INVITATION, dict(CONFERENCE))  # no consent names the person
    assert (unknown.value.status, unknown.value.reason) == (403, "unknown_subject")

    world.jobcenter.record_consent(consent(RESIDENCE_GRANT))  # names the person, no invitations
    with pytest.raises(ExchangeDenied) as no_consent:
        world.jobcenter.send_message(*INVITATION, dict(CONFERENCE))
    assert no_consent.value.reason == "no_consent"

    with pytest.raises(ExchangeDenied) as not_ours:
        world.jobcenter.send_message(
            JA, "JC-9999", "case_conference", "case_management", CONFERENCE
        )
    assert not_ours.value.reason == "unknown_subject"

    assert list(world.youth_welfare.inbox()) == []
    assert world.audit("message.sent") == [
        ("deny", "unknown_subject"),
        ("deny", "no_consent"),
        ("deny", "unknown_subject"),
    ]


def test_bad_payloads_are_refused_before_anything_is_decided(world: World):
    world.jobcenter.record_consent(consent(INVITATION_GRANT))
    without_topic = {k: v for k, v in CONFERENCE.items() if k != "topic"}
    with pytest.raises(InvalidRequest) as invalid:
        world.jobcenter.send_message(*INVITATION, without_topic)
    assert invalid.value.status == 422
    assert invalid.value.errors
    with pytest.raises(PayloadTooLarge) as too_large:  # valid, but over the 512 bytes allowed
        world.jobcenter.send_message(*INVITATION, dict(CONFERENCE, topic="Hilfeplan " * 50))
    assert too_large.value.status == 413
    assert world.audit("message.sent") == []


# -- withdrawal -------------------------------------------------------------------------------


def test_withdrawing_the_grant_withholds_pending_messages_and_names_fetched_ones(world: World):
    recorded = world.jobcenter.record_consent(consent(RESIDENCE_GRANT, INVITATION_GRANT))
    fetched = world.jobcenter.send_message(*INVITATION, dict(CONFERENCE))
    unread = world.jobcenter.send_message(*INVITATION, dict(CONFERENCE, topic="Zweiter Termin"))
    world.youth_welfare.fetch_message(fetched)

    world.jobcenter.withdraw(recorded["consent_id"], "in_person", grants=[INVITATION_GRANT])

    for message_id in (fetched, unread):
        with pytest.raises(MessageGone) as gone:
            world.youth_welfare.fetch_message(message_id)
        assert gone.value.reason == "consent_withdrawn"
    with pytest.raises(MessageGone) as too_late:
        world.youth_welfare.ack_message(fetched)
    assert too_late.value.reason == "consent_withdrawn"
    assert list(world.youth_welfare.inbox()) == []
    withheld = list(world.youth_welfare.inbox("withheld"))
    assert [(m["message_id"], m["reason"]) for m in withheld] == [
        (fetched, "consent_withdrawn"),
        (unread, "consent_withdrawn"),
    ]

    # The youth welfare office had the first one: its notice says so; the unread one never left.
    (notice,) = world.youth_welfare.notices()
    assert notice["consent_id"] == recorded["consent_id"]
    assert (notice["messages"], notice["exchanges"]) == ([fetched], [])
    world.youth_welfare.acknowledge(notice["notice_id"], "deleted")

    with pytest.raises(ExchangeDenied) as again:
        world.jobcenter.send_message(*INVITATION, dict(CONFERENCE))
    assert again.value.reason == "consent_withdrawn"


# -- the reference simulator's receiver -------------------------------------------------------


class CrashingBeforeAck(GatewayClient):
    """An agency system that stops after filing, before it acknowledges."""

    def ack_message(self, message_id: str) -> dict[str, Any]:
        raise SystemExit("the agency system stopped")


def test_the_receiver_files_each_message_once_under_its_own_reference(world: World):
    world.jobcenter.record_consent(consent(INVITATION_GRANT))
    sent = [
        world.jobcenter.send_message(*INVITATION, dict(CONFERENCE, topic=topic))
        for topic in ("Erster Termin", "Zweiter Termin")
    ]
    cases: dict[str, dict[str, Any]] = {JA_REF: {"youth_welfare_support": {"status": "ongoing"}}}

    received = receive(world.youth_welfare, cases)
    assert (received.filed, received.refiled, received.skipped) == (sent, [], {})
    filed = cases[JA_REF]["messages"]
    assert [entry["message_id"] for entry in filed] == sent
    assert [entry["payload"]["topic"] for entry in filed] == ["Erster Termin", "Zweiter Termin"]
    assert {entry["sender"] for entry in filed} == {JC}
    assert cases[JA_REF]["youth_welfare_support"] == {"status": "ongoing"}  # the file is kept
    assert list(world.youth_welfare.inbox()) == []

    again = receive(world.youth_welfare, cases)
    assert (again.filed, again.refiled, again.skipped) == ([], [], {})
    assert len(cases[JA_REF]["messages"]) == 2


def test_after_a_crash_before_the_ack_the_receiver_refetches_and_files_nothing_twice(world: World):
    world.jobcenter.record_consent(consent(INVITATION_GRANT))
    message_id = world.jobcenter.send_message(*INVITATION, dict(CONFERENCE))
    cases: dict[str, dict[str, Any]] = {}

    with world.client(JA, CrashingBeforeAck) as crashing, pytest.raises(SystemExit):
        receive(crashing, cases)
    assert [entry["message_id"] for entry in cases[JA_REF]["messages"]] == [message_id]
    (still_pending,) = world.youth_welfare.inbox()
    assert still_pending["message_id"] == message_id

    received = receive(world.youth_welfare, cases)
    assert (received.filed, received.refiled) == ([], [message_id])
    assert [entry["message_id"] for entry in cases[JA_REF]["messages"]] == [message_id]
    assert list(world.youth_welfare.inbox()) == []
    assert [m["message_id"] for m in world.youth_welfare.inbox("acknowledged")] == [message_id]


class WithdrawnWhileReading(GatewayClient):
    """The inbox is read; before the first fetch, the person withdraws the grant."""

    withdraw: Any = None

    def fetch_message(self, message_id: str) -> dict[str, Any]:
        if self.withdraw is not None:
            self.withdraw()
            self.withdraw = None
        return super().fetch_message(message_id)


def test_the_receiver_skips_messages_withheld_meanwhile(world: World):
    recorded = world.jobcenter.record_consent(consent(INVITATION_GRANT))
    message_id = world.jobcenter.send_message(*INVITATION, dict(CONFERENCE))
    cases: dict[str, dict[str, Any]] = {}
    with world.client(JA, WithdrawnWhileReading) as receiver:
        assert isinstance(receiver, WithdrawnWhileReading)
        receiver.withdraw = lambda: world.jobcenter.withdraw(recorded["consent_id"], "written")
        received = receive(receiver, cases)
    assert (received.filed, received.skipped) == ([], {message_id: "consent_withdrawn"})
    assert cases == {}
