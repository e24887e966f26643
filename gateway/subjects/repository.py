"""All SQL of subjects and references."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.subjects.tables import SubjectReference


def subject_of(session: Session, agency_id: str, reference: str) -> str | None:
    """The subject an agency means by its reference, if the gateway knows it."""
    return session.scalar(
        select(SubjectReference.subject_id).where(
            SubjectReference.agency_id == agency_id, SubjectReference.reference == reference
        )
    )
