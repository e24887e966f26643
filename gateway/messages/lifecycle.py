"""How a message ends: its payload deleted at once, its metadata kept, the end audited.

Used by the message service (acknowledgement, refusal at fetch, expiry) and by the effects of
a withdrawal (``gateway.release.withdrawal``), so this module imports neither."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, EventType
from gateway.audit.service import AuditLog
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
    request: tuple[str | None, str | None] = (None, None),
) -> None:
    """End a pending message: delete its payload and record why (``by``: who acted, for the
    entry's details, e.g. the portal code of a person's withdrawal; ``request``: the request
    id and trace id of the call that ended it, if one did)."""
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
            request_id=request[0],
            trace_id=request[1],
            details={"message_id": message.id, **(by or {})},
        ),
        now=now,
    )


def expire(session: Session, audit: AuditLog, message: Message, now: datetime) -> None:
    close(session, audit, message, State.EXPIRED, now, reason=EXPIRED, actor="gateway")
