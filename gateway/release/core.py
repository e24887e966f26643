"""The one way data is released: decide, then, in the release's own transaction, lock, decide
again at that moment, and write the ledger rows and the audit entries.

A release is any moment data is handed to a recipient: a query's answer, a message fetched
from the inbox, and a message accepted for the inbox (the sender's disclosure). Each is a
``Handover``; every path that hands data over runs, in one transaction:

1. ``lock``: the person's consents between the two agencies (in id order, the order a
   withdrawal takes them), then both agencies' rows. A withdrawal or a disabling either
   committed before and is seen, or waits until this transaction has committed and then
   finds its release in the ledger.
2. ``release``: decide again, at a time taken only now that the locks are held; on a permit,
   keep only the fields each flow releases, write a ledger row and a permit entry per
   category; on a denial, write the refusal entry. Nothing else.

The caller commits (the group committer, ``gateway.db.group``) and hands the data over only
after that commit: no release without its audit entry (promise 2). A refusal taken before any
transaction (a query's first decision, a provider's failure) is recorded with ``refuse``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.agencies import repository as registry
from gateway.agencies.repository import KnownClient, Registered
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.audit.service import AuditLog
from gateway.consents import repository as consents
from gateway.emergency import access as emergency
from gateway.emergency import repository as emergencies
from gateway.emergency.access import EmergencyAsk
from gateway.emergency.tables import EmergencyWindow
from gateway.errors import InvalidRequest
from gateway.policy.model import PolicySet
from gateway.release import ledger
from gateway.release.decision import Deny, Permit, Reason, decide_all, minimise
from gateway.release.tables import Kind
from gateway.subjects import repository as subjects

# The audit entry a release and its refusal are recorded as, by kind.
EVENTS = {
    Kind.QUERY: EventType.EXCHANGE_DECIDED,
    Kind.MESSAGE_ACCEPTED: EventType.MESSAGE_SENT,
    Kind.MESSAGE_FETCHED: EventType.MESSAGE_FETCHED,
}


@dataclass(frozen=True)
class Rules:
    """What releases are decided by and recorded in."""

    policies: PolicySet
    audit: AuditLog


@dataclass(frozen=True)
class Caller:
    """Who asked for the release, as the audit names them."""

    actor: str  # the calling client
    caseworker: str | None = None
    request_id: str | None = None
    trace_id: str | None = None


@dataclass(frozen=True)
class Handover:
    """A release asked for: whose data (``provider``, the agency it comes from) is to go to
    whom (``recipient``), about whom, which categories, for what."""

    kind: Kind
    id: str  # the exchange's id for a query, the message's id for a message
    provider: Registered
    recipient: Registered
    subject_id: str | None  # None: the caller's own reference names no one the gateway knows
    categories: tuple[str, ...]
    purpose: str
    caller: Caller
    # Whether the agency that did not name the person has them on file. Asked only once all
    # else permits: a refusal must not tell the caller whether another agency knows the person.
    counterpart_knows: bool = True
    # Whether a DPO restricted the person's processing (Art. 18 GDPR), as last read; ``lock``
    # reads it again under the person's row lock.
    restricted: bool = False
    # An emergency query (§ 8a SGB VIII): decided on emergency flows, never on consent.
    emergency: EmergencyAsk | None = None


Permits = dict[str, Permit]  # a permit for every category asked for


def parties(
    found: dict[str, KnownClient], caller: str, named: str, field: str
) -> tuple[Registered, Registered]:
    """The calling agency and the agency its request names in ``field`` (the provider asked,
    the recipient written to), as ``registry.clients`` read them: a caller that is no agency,
    or an agency named that does not exist or is the caller itself, is bad input."""
    asking, other = (
        client.agency if client else None for client in (found.get(caller), found.get(named))
    )
    if asking is None:
        raise InvalidRequest(errors=[{"path": "/", "message": "only agencies exchange data"}])
    if other is None or other.id == asking.id:
        raise InvalidRequest(errors=[{"path": f"/body/{field}", "message": "unknown agency"}])
    return asking, other


def decide(
    session: Session, policies: PolicySet, handover: Handover, at: datetime
) -> Permits | Deny:
    """Deny by default: a permit for every category (a policy flow and its legal basis at
    ``at``), or the first category's denial. ``unknown_subject`` only for the caller's own
    unknown reference, or when all else permits but the other agency has no file.
    ``processing_restricted`` also only when all else permits: that a DPO restricted a person
    is itself sensitive, and an agency with no flow or consent for them must not learn it."""
    if handover.subject_id is None:
        return Deny(Reason.UNKNOWN_SUBJECT)
    decided = (
        _decide_emergency(session, policies, handover, handover.emergency, at)
        if handover.emergency is not None
        else _decide_ordinary(session, policies, handover, at)
    )
    if isinstance(decided, Deny):
        return decided
    if not handover.counterpart_knows:
        return Deny(Reason.UNKNOWN_SUBJECT)
    if handover.restricted:
        return Deny(Reason.PROCESSING_RESTRICTED)
    return decided


def _decide_ordinary(
    session: Session, policies: PolicySet, handover: Handover, at: datetime
) -> Permits | Deny:
    assert handover.subject_id is not None
    permits: Permits = {}
    for category, decision in decide_all(
        session,
        policies,
        provider=handover.provider,
        recipient=handover.recipient,
        subject_id=handover.subject_id,
        categories=handover.categories,
        purpose=handover.purpose,
        at=at,
    ).items():
        if isinstance(decision, Deny):
            return decision
        permits[category] = decision
    return permits


def _decide_emergency(
    session: Session, policies: PolicySet, handover: Handover, ask: EmergencyAsk, at: datetime
) -> Permits | Deny:
    assert handover.subject_id is not None
    provider, recipient = handover.provider, handover.recipient
    if not (provider.enabled and recipient.enabled):
        return Deny(Reason.AGENCY_DISABLED)
    return emergency.decide(
        session,
        policies,
        ask,
        provider_kind=provider.kind,
        recipient_kind=recipient.kind,
        same_municipality=provider.municipality == recipient.municipality,
        recipient=recipient.id,
        subject_id=handover.subject_id,
        categories=handover.categories,
        purpose=handover.purpose,
        at=at,
    )


@dataclass(frozen=True)
class Held:
    """A handover whose consents and agencies this transaction holds locked (made only by
    ``lock``), with the agencies as read under the lock."""

    handover: Handover


def lock(session: Session, handover: Handover) -> Held:
    """Lock the person's consents between the two agencies, then both agencies' rows, then
    the person's row, shared (the order every release takes them); read the agencies, and
    whether the person's processing is restricted, again under the locks. A restriction or an
    erasure (which take the person's row exclusively) that committed first is seen; one that
    comes later waits for this release."""
    subject_id = handover.subject_id
    if subject_id is not None:
        consents.lock_consents_between(
            session, subject_id, handover.provider.id, handover.recipient.id
        )
    found = registry.agencies(session, handover.recipient.id, handover.provider.id, locked=True)
    restricted = handover.restricted
    if subject_id is not None:
        held = subjects.hold_for_release(session, subject_id)
        if held is None:  # erased meanwhile: the reference names nobody any more
            subject_id = None
        restricted = bool(held)
    return Held(
        replace(
            handover,
            provider=found.get(handover.provider.id, handover.provider),
            recipient=found.get(handover.recipient.id, handover.recipient),
            subject_id=subject_id,
            restricted=restricted,
        )
    )


@dataclass(frozen=True)
class Released:
    permits: Permits
    documents: dict[str, Any]  # per category, only the fields its flow releases
    at: datetime  # the time of the decision, of the ledger rows and of the audit entries
    window: EmergencyWindow | None = None  # an emergency query's window


def release(
    session: Session, rules: Rules, held: Held, documents: Mapping[str, Any]
) -> Released | Deny:
    """Decide again now, under the locks, and record the outcome: per category a ledger row and
    a permit entry (with a keyed digest of what is released), or the refusal. ``documents``
    holds each category's data; only the fields its flow names are recorded and returned."""
    handover = held.handover
    if handover.emergency is not None:
        emergencies.hold_recipient(session, handover.recipient.id)
    now = datetime.now(UTC)  # after waiting for the locks, or in the group commit's queue
    decided = decide(session, rules.policies, handover, now)
    if isinstance(decided, Deny):
        refuse(session, rules, handover, decided.reason.value)
        return decided
    assert handover.subject_id is not None  # a permit names a person
    released = {
        category: minimise(documents[category], permit.flow.fields[category])
        for category, permit in decided.items()
    }
    message = handover.kind is not Kind.QUERY
    ledger.add(
        session,
        [
            {
                "id": str(uuid.uuid4()) if message else handover.id,
                "category": category,
                "kind": handover.kind.value,
                "message_id": handover.id if message else None,
                "provider": handover.provider.id,
                "recipient": handover.recipient.id,
                "subject_id": handover.subject_id,
                "purpose": handover.purpose,
                "policy_flow": permit.flow.name,
                "consent_id": permit.consent.consent_id if permit.consent else None,
                "consent_version": permit.consent.version if permit.consent else None,
                "released_at": now,
            }
            for category, permit in decided.items()
        ],
    )
    window = None
    if handover.emergency is not None:
        window = emergency.record_use(
            session,
            handover.emergency,
            decided,
            use_id=handover.id,
            subject_id=handover.subject_id,
            recipient=handover.recipient.id,
            provider=handover.provider.id,
            purpose=handover.purpose,
            at=now,
        )
    for category, permit in decided.items():
        consent = permit.consent
        rules.audit.record(
            session,
            _event(
                rules,
                handover,
                Decision.PERMIT,
                categories=(category,),
                legal_basis=str(permit.basis),
                consent_id=consent.consent_id if consent else None,
                consent_version=consent.version if consent else None,
                policy_id=permit.flow.name,
                payload=json.dumps(released[category], sort_keys=True).encode(),
                window=window,
            ),
            now=now,
        )
    return Released(decided, released, now, window)


def refuse(session: Session, rules: Rules, handover: Handover, reason: str) -> None:
    """Record a refusal (nothing released): a decision's reason, or why the release failed
    after it was decided (the provider's answer, the gateway's own fault)."""
    rules.audit.record(
        session, _event(rules, handover, Decision.DENY, reason, categories=handover.categories)
    )


def _event(
    rules: Rules,
    handover: Handover,
    decision: Decision,
    reason: str | None = None,
    window: EmergencyWindow | None = None,
    **fields: Any,
) -> AuditEvent:
    key = "exchange_id" if handover.kind is Kind.QUERY else "message_id"
    details: dict[str, str | int | bool] = {key: handover.id}
    if handover.emergency is not None:
        # That it was an emergency, why (the code) and, for a release, in which window; the
        # justification itself only as its keyed digest.
        details["emergency"] = True
        code = handover.emergency.justification.reason
        if code in rules.policies.emergency_reasons:  # a code of the caller's own making could
            details["emergency_reason"] = code  # carry anything, a name too: left out
        if window is not None:
            details["emergency_window"] = window.id
        fields["justification"] = handover.emergency.justification.plain
    return AuditEvent(
        EVENTS[handover.kind],
        actor=handover.caller.actor,
        requester=handover.recipient.id,
        provider=handover.provider.id,
        caseworker=handover.caller.caseworker,
        subject_id=handover.subject_id,
        purpose=handover.purpose,
        decision=decision,
        reason=reason,
        request_id=handover.caller.request_id,
        trace_id=handover.caller.trace_id,
        policy_set_digest=rules.policies.digest,
        details=details,
        **fields,
    )
