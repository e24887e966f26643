"""Messages from one agency to another: sent, held sealed, fetched, acknowledged.

Sending and fetching are releases (``gateway.release.core``), decided and recorded exactly as
a query's answer, with the sender as the provider of the data: a message accepted for the
inbox is the sender's disclosure, a fetch hands it to the recipient. Only the flow's fields
are kept, sealed at rest. The recipient fetches a message as often as it needs (at-least-once
delivery) until it acknowledges it; every fetch decides again under the consents' row locks,
so a withdrawal that committed first always wins, and one that commits later finds the fetch
in the ledger and notifies. Like a query, each runs in the event loop, its transaction
group-committed (``gateway.db.group``).
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
from gateway.agencies.repository import KnownClient
from gateway.audit.service import AuditLog
from gateway.auth.dependencies import Admission, Principal
from gateway.consents import repository as consents
from gateway.consents.versions import is_uuid
from gateway.db.engine import Database
from gateway.db.group import GroupCommit
from gateway.errors import InvalidRequest, PayloadTooLarge
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
from gateway.messages.sealing import MessageKeys, SealBroken, Sealed
from gateway.messages.tables import Message, State
from gateway.policy.model import PolicySet
from gateway.release.core import Caller, Handover, Released, Rules, lock, parties, release
from gateway.release.decision import Deny, Reason
from gateway.release.errors import ExchangeDenied, refused
from gateway.release.tables import Kind
from gateway.schemas.registry import SchemaSet
from gateway.settings import Settings
from gateway.subjects.repository import references_by

GONE_REASONS = {State.ACKNOWLEDGED: "message_acknowledged", State.EXPIRED: lifecycle.EXPIRED}


@dataclass(frozen=True)
class Restricted:
    """A fetch refused because the person's processing is restricted: the message waits."""


@dataclass(frozen=True)
class Post:
    """The parts of a running gateway messages use."""

    settings: Settings
    database: Database
    audit: AuditLog
    policies: PolicySet
    schemas: SchemaSet
    sealing: MessageKeys
    commits: GroupCommit

    @property
    def rules(self) -> Rules:
        return Rules(self.policies, self.audit)


@dataclass(frozen=True)
class Asked:
    admission: Admission  # the caller's client is confirmed in the request's transaction
    caseworker: str | None = None
    request_id: str | None = None
    trace_id: str | None = None

    def caller(self, principal: Principal) -> Caller:
        return Caller(principal.client_id, self.caseworker, self.request_id, self.trace_id)


# -- sending ----------------------------------------------------------------------------------


async def send(post: Post, asked: Asked, body: MessageIn) -> str:
    """Take a message into the recipient's inbox if a flow and its legal basis permit it
    (a release: the sender discloses it); its payload only with the flow's fields, sealed."""
    category, purpose = body.category.value, body.purpose.value
    _check_payload(post, category, body.payload)
    message_id = str(uuid.uuid4())

    def accept(session: Session) -> Released | Deny:
        found = registry.clients(session, asked.admission.client_id, body.recipient)
        principal = asked.admission.confirm_as(found.get(asked.admission.client_id))
        sender, recipient = parties(found, principal.client_id, body.recipient, "recipient")
        subject_id, known, _ = references_by(session, sender.id, body.subject_ref)
        handover = Handover(
            kind=Kind.MESSAGE_ACCEPTED,
            id=message_id,
            provider=sender,
            recipient=recipient,
            subject_id=subject_id,
            categories=(category,),
            purpose=purpose,
            caller=asked.caller(principal),
            counterpart_knows=recipient.id in known,
        )
        outcome = release(session, post.rules, lock(session, handover), {category: body.payload})
        if isinstance(outcome, Released):
            _store(session, post, handover, outcome)
        return outcome

    outcome = await post.commits.run(accept)
    if isinstance(outcome, Deny):
        reason = outcome.reason.value
        raise ExchangeDenied(refused("the message was refused", reason), reason=reason)
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


def _store(session: Session, post: Post, handover: Handover, released: Released) -> None:
    (category,) = handover.categories
    permit, payload, now = released.permits[category], released.documents[category], released.at
    consent = permit.consent
    assert handover.subject_id is not None  # released: a known person
    message = Message(
        id=handover.id,
        sender=handover.provider.id,
        recipient=handover.recipient.id,
        subject_id=handover.subject_id,
        category=category,
        purpose=handover.purpose,
        legal_basis=str(permit.basis),
        policy_flow=permit.flow.name,
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


async def fetch(post: Post, asked: Asked, message_id: str) -> MessageOut:
    """The message for its recipient, released again now; withheld if that no longer holds."""

    def hand_over(session: Session) -> MessageOut | Restricted | str:
        principal, found, message = _of_recipient(session, asked.admission, message_id)
        sender, recipient = (found[agency].agency for agency in (message.sender, message.recipient))
        assert sender is not None  # an agency's client stays one
        assert recipient is not None
        handover = Handover(
            kind=Kind.MESSAGE_FETCHED,
            id=message.id,
            provider=sender,
            recipient=recipient,
            subject_id=message.subject_id,
            categories=(message.category,),
            purpose=message.purpose,
            caller=asked.caller(principal),
        )
        held = lock(session, handover)  # the consents first, in the order a withdrawal takes them
        message = _locked(session, message.id)
        _expire_if_overdue(session, post, message, datetime.now(UTC))
        if (gone := _gone_reason(message)) is not None:
            return gone
        outcome = release(session, post.rules, held, {message.category: _open(post, message)})
        if isinstance(outcome, Deny) and outcome.reason is Reason.PROCESSING_RESTRICTED:
            # Restricted, not ended (Art. 18 GDPR): the message waits, as it is, until the
            # restriction is lifted (or it expires).
            return Restricted()
        if isinstance(outcome, Deny):
            reason = outcome.reason.value
            now = datetime.now(UTC)
            lifecycle.close(
                session, post.audit, message, State.WITHHELD, now, reason=reason, actor="gateway"
            )
            return reason
        message.first_fetched_at = message.first_fetched_at or outcome.at
        own = consents.references_of(session, message.subject_id).get(message.recipient, "")
        return _out(message, outcome, own)

    fetched = await post.commits.run(hand_over)
    if isinstance(fetched, Restricted):
        reason = Reason.PROCESSING_RESTRICTED.value
        raise ExchangeDenied(refused("the message was refused", reason), reason=reason)
    if isinstance(fetched, str):
        raise MessageGone(refused("the message is gone", fetched), reason=fetched)
    return fetched


async def acknowledge(post: Post, asked: Asked, message_id: str) -> MessageAcknowledged:
    """The recipient has the message: its payload is deleted now. Acknowledging again answers
    the same."""

    def close(session: Session) -> MessageAcknowledged | str:
        principal, _, message = _of_recipient(session, asked.admission, message_id)
        message = _locked(session, message.id)
        now = datetime.now(UTC)
        _expire_if_overdue(session, post, message, now)
        if message.state == State.PENDING.value:
            lifecycle.close(
                session,
                post.audit,
                message,
                State.ACKNOWLEDGED,
                now,
                actor=principal.client_id,
                request=(asked.request_id, asked.trace_id),
            )
        if message.state == State.ACKNOWLEDGED.value:
            assert message.closed_at is not None
            return MessageAcknowledged(
                message_id=message.id,
                state=InboxState.ACKNOWLEDGED,
                acknowledged_at=message.closed_at,
            )
        return message.reason or GONE_REASONS.get(State(message.state), message.state)

    closed = await post.commits.run(close)
    if isinstance(closed, str):
        raise MessageGone(f"the message is gone: {closed}", reason=closed)
    return closed


def _of_recipient(
    session: Session, admission: Admission, message_id: str
) -> tuple[Principal, dict[str, KnownClient], Message]:
    """The caller, the caller's message (not locked), and the caller's and the sender's
    clients, as read in one statement; anyone else's message (or none) is not found."""
    message = repository.get(session, message_id) if is_uuid(message_id) else None
    found = registry.clients(
        session, admission.client_id, message.sender if message else admission.client_id
    )
    principal = admission.confirm_as(found.get(admission.client_id))  # disabled: learns nothing
    if message is None or message.recipient != principal.client_id:
        raise MessageNotFound()
    return principal, found, message


def _locked(session: Session, message_id: str) -> Message:
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


def _out(message: Message, released: Released, own_reference: str) -> MessageOut:
    permit = released.permits[message.category]
    consent = permit.consent
    return MessageOut(
        message_id=message.id,
        sender=message.sender,
        subject_ref=own_reference,
        category=message.category,
        purpose=message.purpose,
        payload=released.documents[message.category],
        legal_basis=str(permit.basis),
        consent_id=consent.consent_id if consent else None,
        consent_version=consent.version if consent else None,
        policy_flow=permit.flow.name,
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
