"""Messages from one agency to another: sent, held sealed, fetched, acknowledged.

A message is decided exactly as a query, with the sender as the provider of the data: deny by
default, permit on a policy flow and its legal basis. Only the flow's fields are kept, sealed
at rest. The recipient fetches it as often as it needs (at-least-once delivery) until it
acknowledges it; every fetch decides again under the consents' row locks, so a withdrawal that
committed first always wins, and one that commits later finds the fetch and notifies.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import rfc8785
from sqlalchemy.orm import Session

from gateway.agencies import repository as registry
from gateway.agencies.repository import Registered
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.audit.service import AuditLog
from gateway.auth.dependencies import Principal
from gateway.consents import repository as consents
from gateway.consents.versions import is_uuid
from gateway.db.engine import Database
from gateway.errors import InvalidRequest, PayloadTooLarge
from gateway.exchange.decision import Deny, Permit, Reason, decide, minimise
from gateway.exchange.errors import ExchangeDenied
from gateway.exchange.service import Validator
from gateway.messages import lifecycle, repository
from gateway.messages.errors import MessageGone, MessageNotFound, MessageUnreadable
from gateway.messages.models import (
    InboxState,
    MessageAcknowledged,
    MessageIn,
    MessageOut,
    MessagePage,
    MessageSummary,
)
from gateway.messages.sealing import MessageKeys, Rewrapped, SealBroken, Sealed
from gateway.messages.tables import Message, State
from gateway.policy.model import PolicySet
from gateway.settings import Settings
from gateway.subjects.repository import references_by

GONE_REASONS = {State.ACKNOWLEDGED: "message_acknowledged", State.EXPIRED: lifecycle.EXPIRED}


@dataclass(frozen=True)
class Post:
    """The parts of a running gateway messages use."""

    settings: Settings
    database: Database
    audit: AuditLog
    policies: PolicySet
    schemas: Validator
    sealing: MessageKeys


@dataclass(frozen=True)
class Caller:
    principal: Principal
    caseworker: str | None = None
    request_id: str | None = None


# -- sending ----------------------------------------------------------------------------------


def send(post: Post, caller: Caller, body: MessageIn) -> str:
    category, purpose = body.category.value, body.purpose.value
    _check_payload(post, category, body.payload)
    now = datetime.now(UTC)
    message_id = str(uuid.uuid4())
    with post.database.transaction() as session:
        sender, recipient = _parties(session, caller.principal.client_id, body.recipient)
        subject_id, known = references_by(session, sender.id, body.subject_ref)
        # As for a query: unknown_subject only for the sender's own unknown reference, or when
        # the flow permits but the recipient has no file to put the message in.
        outcome: Permit | Deny = Deny(Reason.UNKNOWN_SUBJECT)
        if subject_id is not None:
            consents.lock_consents_between(session, subject_id, sender.id, recipient.id)
            now = datetime.now(UTC)  # the time of the decision: after waiting for the locks
            outcome = decide(
                session,
                post.policies,
                provider=sender,
                recipient=recipient,
                subject_id=subject_id,
                category=category,
                purpose=purpose,
                at=now,
            )
            if isinstance(outcome, Permit) and recipient.id not in known:
                outcome = Deny(Reason.UNKNOWN_SUBJECT)
        facts = _Facts(message_id, sender.id, recipient.id, subject_id, category, purpose)
        if isinstance(outcome, Deny):
            # Committed with this transaction: the refusal is in the log, nothing stored.
            post.audit.record(session, _sent_event(caller, facts, Decision.DENY, outcome))
        else:
            assert subject_id is not None
            payload = minimise(body.payload, outcome.flow.fields[category])
            _store(session, post, facts, outcome, payload, now)
            post.audit.record(
                session, _sent_event(caller, facts, Decision.PERMIT, outcome, payload), now=now
            )
    if isinstance(outcome, Deny):
        reason = outcome.reason.value
        raise ExchangeDenied(f"the message was refused: {reason}", reason=reason)
    return message_id


def _check_payload(post: Post, category: str, payload: Any) -> None:
    """Bad input: refused before anything is decided, stored or audited."""
    size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    if size > post.settings.message_max_bytes:
        raise PayloadTooLarge(
            f"the payload has {size} bytes; at most {post.settings.message_max_bytes} are accepted"
        )
    errors = post.schemas.validate(category, payload)
    if errors:
        raise InvalidRequest(
            "the payload does not match the category's schema",
            errors=[
                {"path": "/body/payload" + error["path"].lstrip("$"), "message": error["message"]}
                for error in errors
            ],
        )


def _parties(session: Session, sender_id: str, recipient_id: str) -> tuple[Registered, Registered]:
    found = registry.agencies(session, sender_id, recipient_id, locked=True)
    sender, recipient = found.get(sender_id), found.get(recipient_id)
    if sender is None:
        raise InvalidRequest(errors=[{"path": "/", "message": "only agencies send messages"}])
    if recipient is None or recipient.id == sender.id:
        raise InvalidRequest(errors=[{"path": "/body/recipient", "message": "unknown agency"}])
    return sender, recipient


@dataclass(frozen=True)
class _Facts:
    """What a message is, apart from its payload: also what its ciphertext is bound to."""

    id: str
    sender: str
    recipient: str
    subject_id: str | None
    category: str
    purpose: str


def _store(
    session: Session, post: Post, facts: _Facts, permit: Permit, payload: Any, now: datetime
) -> None:
    consent = permit.consent
    message = Message(
        id=facts.id,
        sender=facts.sender,
        recipient=facts.recipient,
        subject_id=facts.subject_id,
        category=facts.category,
        purpose=facts.purpose,
        legal_basis=str(permit.basis),
        policy_flow=f"{permit.flow.policy_id}/{permit.flow.id}",
        consent_id=consent.consent_id if consent else None,
        consent_version=consent.version if consent else None,
        state=State.PENDING.value,
        created_at=now,
        expires_at=now + timedelta(days=post.settings.message_ttl_days),
    )
    plaintext = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    sealed = post.sealing.seal(plaintext, associated_data(message))
    message.key_id, message.wrapped_key = sealed.key_id, sealed.wrapped_key
    message.nonce, message.ciphertext = sealed.nonce, sealed.ciphertext
    repository.add(session, message)


def associated_data(message: Message) -> bytes:
    """What a sealed payload is bound to: its message's id and metadata. A payload moved to
    another row, or a row whose metadata was changed, no longer opens."""
    return rfc8785.dumps(
        {
            "id": message.id,
            "sender": message.sender,
            "recipient": message.recipient,
            "subject": message.subject_id,
            "category": message.category,
            "purpose": message.purpose,
            "legal_basis": message.legal_basis,
            "policy_flow": message.policy_flow,
            "consent_id": message.consent_id,
            "consent_version": message.consent_version,
        }
    )


def _sent_event(
    caller: Caller,
    facts: _Facts,
    decision: Decision,
    outcome: Permit | Deny,
    payload: Any = None,
) -> AuditEvent:
    permit = outcome if isinstance(outcome, Permit) else None
    consent = permit.consent if permit else None
    return AuditEvent(
        EventType.MESSAGE_SENT,
        actor=caller.principal.client_id,
        requester=facts.recipient,
        provider=facts.sender,
        caseworker=caller.caseworker,
        subject_id=facts.subject_id,
        categories=(facts.category,),
        purpose=facts.purpose,
        decision=decision,
        reason=outcome.reason.value if isinstance(outcome, Deny) else None,
        legal_basis=str(permit.basis) if permit else None,
        consent_id=consent.consent_id if consent else None,
        consent_version=consent.version if consent else None,
        policy_id=f"{permit.flow.policy_id}/{permit.flow.id}" if permit else None,
        payload=json.dumps(payload, sort_keys=True).encode() if permit else None,
        request_id=caller.request_id,
        details={"message_id": facts.id},
    )


# -- the recipient's inbox --------------------------------------------------------------------


def inbox(
    session: Session, principal: Principal, state: InboxState, cursor: str | None, limit: int
) -> MessagePage:
    after = _decode_cursor(cursor) if cursor else None
    rows = repository.inbox(
        session, principal.client_id, state.value, after, limit + 1, datetime.now(UTC)
    )
    page = [
        MessageSummary(
            message_id=message.id,
            sender=message.sender,
            subject_ref=reference,
            category=message.category,
            purpose=message.purpose,
            state=InboxState(message.state),
            reason=message.reason,
            created_at=message.created_at,
            expires_at=message.expires_at,
            fetched=message.first_fetched_at is not None,
        )
        for message, reference in rows[:limit]
    ]
    last = rows[limit - 1][0] if len(rows) > limit else None
    return MessagePage(
        messages=page,
        next_cursor=_encode_cursor(last.created_at, last.id) if last is not None else None,
    )


def _encode_cursor(created_at: datetime, message_id: str) -> str:
    text = f"{created_at.astimezone(UTC).isoformat()}|{message_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, message_id = text.split("|")
        uuid.UUID(message_id)
        return datetime.fromisoformat(moment), message_id
    except ValueError:
        raise InvalidRequest(
            errors=[{"path": "/query/cursor", "message": "not a cursor"}]
        ) from None


def fetch(post: Post, caller: Caller, message_id: str) -> MessageOut:
    """The message for its recipient, decided again now; withheld if that no longer holds."""
    with post.database.transaction() as session:
        message = _locked_for(session, caller, message_id)
        now = datetime.now(UTC)  # the time of the decision: after waiting for the locks
        _expire_if_overdue(session, post, message, now)
        outcome = _gone_reason(message) or _recheck(session, post, message, now)
        if isinstance(outcome, Permit):
            payload = _open(post, message)
            message.first_fetched_at = message.first_fetched_at or now
            post.audit.record(session, _fetched_event(caller, message), now=now)
            own = consents.references_of(session, message.subject_id).get(message.recipient, "")
            return _out(message, payload, own)
        if isinstance(outcome, Deny):
            reason = outcome.reason.value
            lifecycle.close(
                session, post.audit, message, State.WITHHELD, now, reason=reason, actor="gateway"
            )
        else:
            reason = outcome
    raise MessageGone(f"the message is gone: {reason}", reason=reason)


def acknowledge(post: Post, caller: Caller, message_id: str) -> MessageAcknowledged:
    """The recipient has the message: its payload is deleted now. Acknowledging again answers
    the same."""
    now = datetime.now(UTC)
    with post.database.transaction() as session:
        message = _locked_for(session, caller, message_id, lock_consents=False)
        _expire_if_overdue(session, post, message, now)
        if message.state == State.PENDING.value:
            actor = caller.principal.client_id
            lifecycle.close(session, post.audit, message, State.ACKNOWLEDGED, now, actor=actor)
        if message.state == State.ACKNOWLEDGED.value:
            assert message.closed_at is not None
            return MessageAcknowledged(
                message_id=message.id,
                state=InboxState.ACKNOWLEDGED,
                acknowledged_at=message.closed_at,
            )
        reason = message.reason or GONE_REASONS.get(State(message.state), message.state)
    raise MessageGone(f"the message is gone: {reason}", reason=reason)


def _locked_for(
    session: Session, caller: Caller, message_id: str, *, lock_consents: bool = True
) -> Message:
    """The caller's message, locked; anyone else's (or none) is not found. The consents it
    rests on are locked first, in the order a withdrawal takes them, so the two serialise."""
    message = repository.get(session, message_id) if is_uuid(message_id) else None
    if message is None or message.recipient != caller.principal.client_id:
        raise MessageNotFound()
    if lock_consents:
        consents.lock_consents_between(
            session, message.subject_id, message.sender, message.recipient
        )
    locked = repository.get(session, message_id, for_update=True)
    assert locked is not None  # messages are never deleted
    return locked


def _expire_if_overdue(session: Session, post: Post, message: Message, now: datetime) -> None:
    """A message past its expiry is gone, whether or not the background sweep has purged it."""
    if message.state == State.PENDING.value and message.expires_at <= now:
        lifecycle.expire(session, post.audit, message, now)


def _gone_reason(message: Message) -> str | None:
    if message.state == State.PENDING.value:
        return None
    return message.reason or GONE_REASONS.get(State(message.state), message.state)


def _recheck(session: Session, post: Post, message: Message, now: datetime) -> Permit | Deny:
    found = registry.agencies(session, message.sender, message.recipient, locked=True)
    sender, recipient = found.get(message.sender), found.get(message.recipient)
    if sender is None or recipient is None:
        return Deny(Reason.AGENCY_DISABLED)
    return decide(
        session,
        post.policies,
        provider=sender,
        recipient=recipient,
        subject_id=message.subject_id,
        category=message.category,
        purpose=message.purpose,
        at=now,
    )


def _open(post: Post, message: Message) -> Any:
    key_id, wrapped, nonce, ciphertext = (
        message.key_id,
        message.wrapped_key,
        message.nonce,
        message.ciphertext,
    )
    if key_id is None or wrapped is None or nonce is None or ciphertext is None:
        raise MessageUnreadable()
    sealed = Sealed(key_id, wrapped, nonce, ciphertext)
    try:
        return json.loads(post.sealing.open(sealed, associated_data(message)))
    except SealBroken:
        raise MessageUnreadable() from None


def _fetched_event(caller: Caller, message: Message) -> AuditEvent:
    return AuditEvent(
        EventType.MESSAGE_FETCHED,
        actor=caller.principal.client_id,
        requester=message.recipient,
        provider=message.sender,
        caseworker=caller.caseworker,
        subject_id=message.subject_id,
        categories=(message.category,),
        purpose=message.purpose,
        decision=Decision.PERMIT,
        legal_basis=message.legal_basis,
        consent_id=message.consent_id,
        consent_version=message.consent_version,
        policy_id=message.policy_flow,
        request_id=caller.request_id,
        details={"message_id": message.id},
    )


def _out(message: Message, payload: Any, own_reference: str) -> MessageOut:
    return MessageOut(
        message_id=message.id,
        sender=message.sender,
        subject_ref=own_reference,
        category=message.category,
        purpose=message.purpose,
        payload=payload,
        legal_basis=message.legal_basis,
        consent_id=message.consent_id,
        consent_version=message.consent_version,
        policy_flow=message.policy_flow,
        created_at=message.created_at,
        expires_at=message.expires_at,
    )


# -- expiry -----------------------------------------------------------------------------------


def expire(database: Database, audit: AuditLog, now: datetime | None = None) -> int:
    """Purge pending messages past their expiry; returns how many. A background chore."""
    now = now or datetime.now(UTC)
    with database.transaction() as session:
        overdue = repository.expired(session, now, limit=500)
        for message in overdue:
            lifecycle.expire(session, audit, message, now)
        return len(overdue)


# -- key rotation -----------------------------------------------------------------------------


def rewrap_all(database: Database, sealing: MessageKeys, batch: int = 500) -> Rewrapped:
    """Re-wrap every message's data key that another key than the active one wraps, a batch
    per transaction (payloads are not touched, requests go on). A data key that does not
    unwrap is left as it is (its row keeps naming its key, which therefore stays) and counted.
    (``gateway.keys.rewrap`` does this for everything sealed, then erases unused keys.)"""
    active, after, count, unreadable = sealing.active_kid(), "", 0, 0
    while True:
        with database.transaction() as session:
            rows = repository.sealed_with_other_keys(session, active, after, batch)
            for message_id, key_id, wrapped in rows:
                try:
                    new = sealing.rewrap(key_id, wrapped)
                except SealBroken:
                    unreadable += 1
                    continue
                count += repository.replace_wrapped_key(session, message_id, (key_id, wrapped), new)
        if len(rows) < batch:
            break
        after = rows[-1][0]
    return Rewrapped(count, unreadable)
