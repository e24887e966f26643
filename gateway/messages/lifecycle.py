"""How a message ends: its payload deleted at once, its metadata kept, the end audited.

Used by the message service (acknowledgement, refusal at fetch, expiry) and by the consent
registry (withdrawal), so this module imports neither."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from consent.model import GrantChange
from gateway.audit.events import AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.messages import repository
from gateway.messages.tables import Message, State

WITHDRAWN = "consent_withdrawn"
EXPIRED = "message_expired"


def close(
    session: Session,
    audit: AuditLog,
    message: Message,
    state: State,
    now: datetime,
    *,
    reason: str | None = None,
    actor: str | None = None,
    by: Mapping[str, str] | None = None,
) -> None:
    """End a pending message: delete its payload and record why (``by``: who acted, for the
    entry's details, e.g. the portal code of a person's withdrawal)."""
    message.state = state.value
    message.reason = reason
    message.closed_at = now
    message.key_id = message.wrapped_key = message.nonce = message.ciphertext = None
    event = (
        EventType.MESSAGE_ACKNOWLEDGED if state is State.ACKNOWLEDGED else EventType.MESSAGE_PURGED
    )
    audit.record(
        session,
        AuditEvent(
            event,
            actor=actor,
            requester=message.recipient,
            provider=message.sender,
            subject_id=message.subject_id,
            categories=(message.category,),
            purpose=message.purpose,
            reason=reason,
            consent_id=message.consent_id,
            consent_version=message.consent_version,
            details={"message_id": message.id, **(by or {})},
        ),
        now=now,
    )


def expire(session: Session, audit: AuditLog, message: Message, now: datetime) -> None:
    close(session, audit, message, State.EXPIRED, now, reason=EXPIRED, actor="gateway")


def withhold_withdrawn(
    session: Session,
    audit: AuditLog,
    consent_id: str,
    change: GrantChange,
    now: datetime,
    actor: str,
    by: Mapping[str, str] | None = None,
) -> dict[str, list[str]]:
    """Withhold the pending messages that lose their ground with this change (their payloads
    are purged), and return, per recipient, the ids of those it had already fetched."""
    delivered: dict[str, list[str]] = defaultdict(list)
    for message in repository.under_consent(session, consent_id):
        flow = (message.sender, message.recipient, message.category, message.purpose)
        if not change.affects(*flow):
            continue
        if message.first_fetched_at is not None:  # acknowledged, expired or closed since
            delivered[message.recipient].append(message.id)
        if message.state == State.PENDING.value:
            close(
                session, audit, message, State.WITHHELD, now, reason=WITHDRAWN, actor=actor, by=by
            )
    session.flush()
    return dict(delivered)
