"""A state machine over a live gateway: queries, messages sent, fetched, acknowledged and left
to expire, and withdrawals of a whole consent or of some of its grants, in any order. A model
kept from the HTTP answers alone says what was released to whom, under which consent version,
and which grants were withdrawn when; after every step the gateway's ledger, audit, notices
and inboxes must agree with it:

(a) every release is in the ledger, once per category, with its permit entry in the audit;
(b) none rests on a consent version that had ended before it, and no flow was answered after
    the grant covering it was withdrawn;
(c) each withdrawal's notices list, per recipient, exactly the exchanges and fetched messages
    released to it under the grants that lost their ground (acknowledged or expired since,
    or not);
(d) pending messages under a withdrawn grant are withheld, and fetching one answers 410.

Each person has one consent (so no other consent covers what it no longer does); a new person
comes along once the current one's consent is wholly withdrawn. Every example has persons of
its own (fresh references) and reads only their ledger rows, their consents' notices and the
audit entries written since it began: the examples share one database.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select, update

from gateway.audit.service import decode
from gateway.audit.tables import AuditEntry
from gateway.consents.notices_tables import WithdrawalNotice
from gateway.consents.tables import ConsentRecord, ConsentVersion
from gateway.messages import service as messages
from gateway.messages.tables import Message
from gateway.release.tables import Kind, Release
from tests.adversarial.conftest import ABH, JA, JC, RESIDENCE_STATUS, City
from tests.release.model import (
    CM,
    EVENTS,
    GONE,
    GRANTS,
    MESSAGES,
    PAYLOADS,
    QUERIES,
    STORED,
    TOKEN_REUSE,
    Flow,
    Handed,
    Person,
    Sent,
    Withdrawn,
)
from tests.support import named_in


@pytest.mark.timeout(900)  # a failure is shrunk by replaying it, HTTP and all, many times
def test_releases_ledger_audit_and_notices_agree_with_what_was_answered(city: City):
    tokens_taken = [time.monotonic()]

    class Releases(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            if time.monotonic() - tokens_taken[0] > TOKEN_REUSE:
                city._tokens.clear()  # fresh access tokens before the old ones run out
                tokens_taken[0] = time.monotonic()
            self.people: list[Person] = []
            with city.runtime.database.transaction(read_only=True) as session:
                self.audit_start = session.scalar(select(func.max(AuditEntry.id))) or 0

        @property
        def person(self) -> Person:
            return self.people[-1]

        # -- steps ---------------------------------------------------------------------------

        @initialize(names=st.lists(st.sampled_from(sorted(GRANTS)), min_size=3, unique=True))
        def record(self, names: list[str]) -> None:
            self._new_person(names)

        @precondition(lambda self: not self.person.active)
        @rule(names=st.lists(st.sampled_from(sorted(GRANTS)), min_size=3, unique=True))
        def record_another(self, names: list[str]) -> None:
            """Once the consent is wholly withdrawn: its person's part is done."""
            self._new_person(names)

        def _new_person(self, names: list[str]) -> None:
            """A new person, with a consent of these grants."""
            tag = uuid.uuid4().hex[:12]
            refs = {agency: f"{agency[6:9].upper()}-{tag}" for agency in (ABH, JC, JA)}
            city.cases[ABH][refs[ABH]] = {"residence_status": dict(RESIDENCE_STATUS)}
            city.cases[JC][refs[JC]] = dict(PAYLOADS)
            person = Person(refs, tuple(names))
            grants = [GRANTS[name] for name in names]
            person.consent_id = city.recorded(JC, named_in(refs, grants), *grants)["consent_id"]
            with city.runtime.database.transaction(read_only=True) as session:
                person.subject_id = session.scalar(
                    select(ConsentRecord.subject_id).where(ConsentRecord.id == person.consent_id)
                )
            self.people.append(person)

        @rule(query=st.sampled_from(QUERIES))
        def ask(self, query: tuple[str, str, tuple[str, ...], str]) -> None:
            requester, provider, categories, purpose = query
            person = self.person
            flows = tuple((provider, requester, category, purpose) for category in categories)
            response = city.ask(requester, provider, person.refs[requester], categories, purpose)
            refusal = person.refusal(requester, flows)
            if refusal is not None:
                assert response.status_code == 403, response.text
                assert response.json()["reason"] == refusal, response.text
                return
            assert response.status_code == 200, response.text
            answer = response.json()
            assert set(answer["data"]) == set(categories)
            for category in categories:
                basis = answer["bases"][category]
                consent = (basis["consent_id"], basis["consent_version"])
                assert consent == (person.consent_id, person.version)
            self._handed(person, Kind.QUERY, answer["exchange_id"], requester, flows)

        @rule(message=st.sampled_from(MESSAGES), fetches=st.integers(0, 2))
        def send(self, message: tuple[str, str, str], fetches: int) -> None:
            """Send a message, and have its recipient fetch it at once (or not)."""
            sender, recipient, category = message
            person = self.person
            flow = (sender, recipient, category, CM)
            body = {"recipient": recipient, "subject_ref": person.refs[sender],
                    "category": category, "purpose": CM, "payload": PAYLOADS[category]}  # fmt: skip
            response = city.post(sender, "/v1/messages", body)
            refusal = person.refusal(sender, (flow,))
            if refusal is not None:
                assert response.status_code == 403, response.text
                assert response.json()["reason"] == refusal, response.text
                return
            assert response.status_code == 202, response.text
            sent = Sent(response.json()["message_id"], flow)
            person.sent[sent.id] = sent
            self._handed(person, Kind.MESSAGE_ACCEPTED, sent.id, recipient, (flow,))
            for _ in range(fetches):
                self._fetch(person, sent)

        @precondition(lambda self: self._messages())
        @rule(data=st.data())
        def fetch(self, data: st.DataObject) -> None:
            self._fetch(*self._draw_message(data))

        @precondition(lambda self: self._messages())
        @rule(data=st.data())
        def acknowledge(self, data: st.DataObject) -> None:
            _, message = self._draw_message(data)
            response = city.post(message.flow[1], f"/v1/messages/{message.id}/ack")
            if message.state in ("pending", "acknowledged"):
                assert response.status_code == 200, response.text
                assert response.json()["state"] == "acknowledged"
                message.state = "acknowledged"
                return
            if message.state == "overdue":
                message.state = "expired"  # found overdue: expired on the spot
            self._assert_gone(response, message)

        @precondition(lambda self: self._messages("pending"))
        @rule(data=st.data(), sweep=st.booleans())
        def let_one_expire(self, data: st.DataObject, sweep: bool) -> None:
            """A pending message's time runs out; the sweep purges it, or its next fetch or
            acknowledgement finds it overdue."""
            _, message = data.draw(st.sampled_from(self._messages("pending")), "message")
            with city.runtime.database.transaction() as session:
                session.execute(
                    update(Message)
                    .where(Message.id == message.id)
                    .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
                )
            message.state = "overdue"
            if sweep:
                messages.expire(city.runtime.database, city.runtime.audit)
                for _, overdue in self._messages("overdue"):
                    overdue.state = "expired"

        # Withdrawals come once something was released: their effects are what is under test.
        @precondition(lambda self: self.person.active and self.person.handed)
        @rule(data=st.data())
        def withdraw_some_grants(self, data: st.DataObject) -> None:
            """Some of the current version's grants, named (all of them when it has one)."""
            names = list(self.person.grants)
            if len(names) > 1:
                some = st.lists(
                    st.sampled_from(names), min_size=1, max_size=len(names) - 1, unique=True
                )
                names = data.draw(some.map(sorted), "grants")
            self._withdraw(data, names, {"grants": [GRANTS[name] for name in names]})

        @precondition(lambda self: self.person.active and self.person.handed)
        @rule(data=st.data(), named=st.booleans())
        def withdraw_everything(self, data: st.DataObject, named: bool) -> None:
            """The whole consent, or every grant by name (which is as good)."""
            names = list(self.person.grants)
            body = {"grants": [GRANTS[name] for name in names]} if named else {}
            self._withdraw(data, names, body)

        @precondition(lambda self: not self.person.active)
        @rule(data=st.data())
        def withdraw_again(self, data: st.DataObject) -> None:
            """A consent no longer active cannot be withdrawn again."""
            person = self.person
            by = data.draw(st.sampled_from(person.parties), "withdrawn by")
            path = f"/v1/consents/{person.consent_id}/withdraw"
            response = city.post(by, path, {"channel": "in_person"})
            assert response.status_code == 409, response.text
            assert response.json()["type"].endswith("/problems/consent-not-active")

        # -- invariants ----------------------------------------------------------------------

        @invariant()
        def every_release_is_in_the_ledger_with_its_permit_entry(self) -> None:
            """(a), and the ledger holds exactly what the answers handed over."""
            with city.runtime.database.transaction(read_only=True) as session:
                rows = session.scalars(
                    select(Release).where(Release.subject_id.in_(self._subjects()))
                ).all()
            ledger = Counter(
                (row.kind, row.message_id or row.id, row.category, row.recipient,
                 row.consent_id, row.consent_version)
                for row in rows
            )  # fmt: skip
            assert ledger == Counter(
                (handed.kind, handed.id, flow[2], handed.recipient, person.consent_id,
                 handed.version)
                for person in self.people
                for handed in person.handed
                for flow in handed.flows
            )  # fmt: skip
            permits = [
                body for body in self._audit(EVENTS.values()) if body["decision"] == "permit"
            ]
            assert all(len(body["categories"]) == 1 for body in permits), "one per category"
            assert Counter(
                (body["event"], body["details"].get("exchange_id") or body["details"]["message_id"],
                 body["categories"][0], body["requester"], body.get("consent_id"),
                 body.get("consent_version"))
                for body in permits
            ) == Counter(
                {(EVENTS[kind], *release): count for (kind, *release), count in ledger.items()}
            )  # fmt: skip

        @invariant()
        def nothing_was_released_under_an_ended_version(self) -> None:
            """(b): in the ledger, no release after its version ended; in the answers, no flow
            answered after a withdrawal took its ground away."""
            with city.runtime.database.transaction(read_only=True) as session:
                rows = session.execute(
                    select(Release.kind, Release.id, Release.released_at, ConsentVersion.ended_at)
                    .join(
                        ConsentVersion,
                        (ConsentVersion.consent_id == Release.consent_id)
                        & (ConsentVersion.version == Release.consent_version),
                    )
                    .where(Release.subject_id.in_(self._subjects()))
                ).all()
            assert not [row for row in rows if row.ended_at and row.ended_at < row.released_at]
            for person in self.people:
                for withdrawal in person.withdrawals:
                    later = person.handed[withdrawal.after :]
                    assert not [h for h in later if any(withdrawal.affects(f) for f in h.flows)]
                    assert all(h.version > withdrawal.version for h in later)

        @invariant()
        def each_notice_lists_exactly_what_its_recipient_received(self) -> None:
            """(c)"""
            consents = [person.consent_id for person in self.people]
            with city.runtime.database.transaction(read_only=True) as session:
                notices = session.scalars(
                    select(WithdrawalNotice).where(WithdrawalNotice.consent_id.in_(consents))
                ).all()
                found = {
                    (n.consent_id, n.consent_version, n.recipient): (
                        sorted(n.exchanges),
                        sorted(n.messages),
                    )
                    for n in notices
                }
            assert len(found) == len(notices), "one notice per withdrawal and recipient"
            assert found == {
                (person.consent_id, *withdrawal): listed
                for person in self.people
                for withdrawal, listed in person.notices().items()
            }

        @invariant()
        def pending_messages_under_withdrawn_grants_are_withheld(self) -> None:
            """(d), and every other message's state as its answers left it."""
            sent = self._messages()
            if not sent:
                return
            with city.runtime.database.transaction(read_only=True) as session:
                stored = {
                    row.id: (row.state, row.reason)
                    for row in session.execute(
                        select(Message.id, Message.state, Message.reason).where(
                            Message.id.in_([message.id for _, message in sent])
                        )
                    )
                }
            assert stored == {message.id: STORED[message.state] for _, message in sent}
            for person, message in sent:
                if message.state in ("pending", "overdue"):
                    assert person.covered(message.flow)

        # -- helpers -------------------------------------------------------------------------

        def _handed(
            self, person: Person, kind: Kind, id_: str, recipient: str, flows: tuple[Flow, ...]
        ) -> None:
            assert all(person.covered(flow) for flow in flows)
            person.handed.append(Handed(kind.value, id_, recipient, flows, person.version))

        def _fetch(self, person: Person, message: Sent) -> None:
            response = city.get(message.flow[1], f"/v1/messages/{message.id}")
            if message.state == "pending":
                assert person.covered(message.flow), "a pending message has its ground"
                assert response.status_code == 200, response.text
                fetched = response.json()
                assert fetched["message_id"] == message.id
                assert fetched["subject_ref"] == person.refs[message.flow[1]]
                assert fetched["payload"] == PAYLOADS[message.flow[2]]
                recipient = message.flow[1]
                self._handed(person, Kind.MESSAGE_FETCHED, message.id, recipient, (message.flow,))
                return
            if message.state == "overdue":
                message.state = "expired"  # found overdue: expired on the spot
            self._assert_gone(response, message)

        def _messages(self, state: str | None = None) -> list[tuple[Person, Sent]]:
            """Everyone's messages, in the order they were sent (their ids differ each time
            Hypothesis replays a case, so they are never drawn by id)."""
            return [
                (person, message)
                for person in self.people
                for message in person.sent.values()
                if state is None or message.state == state
            ]

        def _draw_message(self, data: st.DataObject) -> tuple[Person, Sent]:
            """Mostly a pending message (one with something to hand over), else any."""
            pending = self._messages("pending")
            if pending and data.draw(st.integers(0, 3), "pending first") > 0:
                return data.draw(st.sampled_from(pending), "message")
            return data.draw(st.sampled_from(self._messages()), "message")

        def _assert_gone(self, response: Any, message: Sent) -> None:
            assert response.status_code == 410, response.text
            problem = response.json()
            assert problem["type"].endswith("/problems/message-gone")
            assert problem["reason"] == GONE[message.state], (message, problem)

        def _withdraw(self, data: st.DataObject, names: list[str], body: dict[str, Any]) -> None:
            person = self.person
            by = data.draw(st.sampled_from(person.parties), "withdrawn by")
            path = f"/v1/consents/{person.consent_id}/withdraw"
            response = city.post(by, path, {"channel": "in_person", **body})
            assert response.status_code == 200, response.text
            remaining = tuple(name for name in person.grants if name not in names)
            person.withdrawals.append(
                Withdrawn(person.version, tuple(names), remaining, len(person.handed))
            )
            answer = response.json()
            if remaining:
                person.version += 1
                person.grants = remaining
                assert (answer["version"], answer["status"]) == (person.version, "active")
            else:
                person.active = False
                assert (answer["version"], answer["status"]) == (person.version, "withdrawn")
            withheld = [
                message
                for message in person.sent.values()
                if message.state in ("pending", "overdue") and not person.covered(message.flow)
            ]
            for message in withheld:
                message.state = "withheld"
            # (d): withheld by the withdrawal itself (a fetch would withhold it too) ...
            self.pending_messages_under_withdrawn_grants_are_withheld()
            for message in withheld:  # ... and gone for its recipient
                self._assert_gone(city.get(message.flow[1], f"/v1/messages/{message.id}"), message)

        def _subjects(self) -> list[str]:
            return [person.subject_id for person in self.people]

        def _audit(self, events: Iterable[str]) -> list[dict[str, Any]]:
            """The entries of these events written since the example began."""
            with city.runtime.database.transaction(read_only=True) as session:
                bodies = session.scalars(
                    select(AuditEntry.body).where(
                        AuditEntry.id > self.audit_start, AuditEntry.event.in_(list(events))
                    )
                ).all()
            return [decode(body) for body in bodies if body]

    run_state_machine_as_test(
        Releases,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
