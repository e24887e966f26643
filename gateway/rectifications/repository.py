"""All SQL of rectification notices."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.rectifications.tables import Rectification


def add(session: Session, rectification: Rectification) -> None:
    session.add(rectification)
    session.flush()


def get(
    session: Session, rectification_id: str, *, for_update: bool = False
) -> Rectification | None:
    """The notice; ``for_update``: held until the transaction ends, so that two answers at
    once are taken one after the other (the second sees the first)."""
    return session.get(Rectification, rectification_id, with_for_update=for_update)


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
