"""All SQL of rectification notices."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.rectifications.tables import Rectification


def add(session: Session, rectification: Rectification) -> None:
    session.add(rectification)
    session.flush()


def get(session: Session, rectification_id: str) -> Rectification | None:
    return session.get(Rectification, rectification_id)


def open_one(
    session: Session, subject_id: str, provider: str, category: str
) -> Rectification | None:
    """The person's unanswered notice about this provider's category, if there is one."""
    return session.scalar(
        select(Rectification).where(
            Rectification.subject_id == subject_id,
            Rectification.provider == provider,
            Rectification.category == category,
            Rectification.answered_at.is_(None),
        )
    )


def of_subject(session: Session, subject_id: str) -> Sequence[Rectification]:
    """Every notice of the person's, newest first."""
    return session.scalars(
        select(Rectification)
        .where(Rectification.subject_id == subject_id)
        .order_by(Rectification.flagged_at.desc(), Rectification.id)
    ).all()


def for_provider(
    session: Session, provider: str, include_answered: bool
) -> Sequence[Rectification]:
    """The notices addressed to this provider, oldest first (open ones only, unless asked)."""
    query = select(Rectification).where(Rectification.provider == provider)
    if not include_answered:
        query = query.where(Rectification.answered_at.is_(None))
    return session.scalars(query.order_by(Rectification.flagged_at, Rectification.id)).all()


# -- key rotation ------------------------------------------------------------------------------


def sealed_with_other_keys(session: Session, key_id: str) -> list[tuple[str, str, bytes]]:
    """Notices whose text is wrapped by another key than ``key_id``: id, key id, wrapped key."""
    rows = session.execute(
        select(Rectification.id, Rectification.key_id, Rectification.wrapped_key).where(
            Rectification.key_id.is_not(None),
            Rectification.wrapped_key.is_not(None),
            Rectification.key_id != key_id,
        )
    )
    return [(id_, key, wrapped) for id_, key, wrapped in rows if key and wrapped]


def replace_wrapped_key(
    session: Session, rectification_id: str, old: tuple[str, bytes], new: tuple[str, bytes]
) -> bool:
    """Swap the wrapped data key, unless the row changed meanwhile (say, it was answered)."""
    result = session.execute(
        update(Rectification)
        .where(
            Rectification.id == rectification_id,
            Rectification.key_id == old[0],
            Rectification.wrapped_key == old[1],
        )
        .values(key_id=new[0], wrapped_key=new[1])
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def key_ids_in_use(session: Session) -> set[str]:
    return {
        key_id
        for key_id in session.scalars(
            select(Rectification.key_id).where(Rectification.key_id.is_not(None)).distinct()
        )
        if key_id is not None
    }
