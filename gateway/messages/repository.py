"""All SQL of messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select, update
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


def sealed_with_other_keys(
    session: Session, key_id: str, after: str, limit: int
) -> list[tuple[str, str, bytes]]:
    """Messages whose payload is wrapped by another key than ``key_id``: id, key id, wrapped
    key, by id after ``after``."""
    rows = session.execute(
        select(Message.id, Message.key_id, Message.wrapped_key)
        .where(
            Message.key_id.is_not(None),
            Message.wrapped_key.is_not(None),
            Message.key_id != key_id,
            Message.id > after,
        )
        .order_by(Message.id)
        .limit(limit)
    )
    return [(message_id, kid, wrapped) for message_id, kid, wrapped in rows if kid and wrapped]


def replace_wrapped_key(
    session: Session, message_id: str, old: tuple[str, bytes], new: tuple[str, bytes]
) -> bool:
    """Swap the wrapped data key, unless the row changed meanwhile (say, it was purged)."""
    result = session.execute(
        update(Message)
        .where(
            Message.id == message_id,
            Message.key_id == old[0],
            Message.wrapped_key == old[1],
        )
        .values(key_id=new[0], wrapped_key=new[1])
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def key_ids_in_use(session: Session) -> set[str]:
    return {
        key_id
        for key_id in session.scalars(
            select(Message.key_id).where(Message.key_id.is_not(None)).distinct()
        )
        if key_id is not None
    }
