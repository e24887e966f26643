"""All SQL of messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from gateway.messages.tables import Message, State
from gateway.subjects.tables import SubjectReference


def add(session: Session, message: Message) -> None:
    session.add(message)
    session.flush()


def get(session: Session, message_id: str, *, for_update: bool = False) -> Message | None:
    query = select(Message).where(Message.id == message_id)
    if for_update:
        # Read the row again under the lock, whatever an earlier read left in the session.
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def inbox(
    session: Session,
    recipient: str,
    state: str,
    after: tuple[datetime, str] | None,
    limit: int,
    now: datetime,
) -> list[tuple[Message, str | None]]:
    """One page of the recipient's messages in this state, oldest first, each with the
    recipient's own reference for the person. Pending ones past their expiry are left out."""
    query = (
        select(Message, SubjectReference.reference)
        .outerjoin(
            SubjectReference,
            and_(
                SubjectReference.subject_id == Message.subject_id,
                SubjectReference.agency_id == Message.recipient,
            ),
        )
        .where(Message.recipient == recipient, Message.state == state)
        .order_by(Message.created_at, Message.id)
        .limit(limit)
    )
    if state == State.PENDING.value:
        query = query.where(Message.expires_at > now)
    if after is not None:
        created_at, message_id = after
        query = query.where(
            or_(
                Message.created_at > created_at,
                and_(Message.created_at == created_at, Message.id > message_id),
            )
        )
    return [(message, reference) for message, reference in session.execute(query)]


def pending_under_consent(session: Session, consent_id: str) -> Sequence[Message]:
    """The pending messages sent under this consent, locked."""
    return session.scalars(
        select(Message)
        .where(Message.consent_id == consent_id, Message.state == State.PENDING.value)
        .order_by(Message.created_at, Message.id)
        .with_for_update()
    ).all()


def expired(session: Session, now: datetime, limit: int) -> Sequence[Message]:
    """Pending messages past their expiry, locked (ones another process holds are skipped)."""
    return session.scalars(
        select(Message)
        .where(Message.state == State.PENDING.value, Message.expires_at <= now)
        .order_by(Message.expires_at, Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
