"""All SQL of subjects and references."""

from __future__ import annotations

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from gateway.subjects.tables import SubjectReference


def subject_of(session: Session, agency_id: str, reference: str) -> str | None:
    """The subject an agency means by its reference, if the gateway knows it."""
    return session.scalar(
        select(SubjectReference.subject_id).where(
            SubjectReference.agency_id == agency_id, SubjectReference.reference == reference
        )
    )


# Built once from the table's columns (Core, not ORM): the exchange path runs it on every query.
_references: Table = SubjectReference.__table__  # type: ignore[assignment]  # mapped to a Table
_given, _known = _references.alias("given"), _references.alias("known")
_REFERENCES_BY = (
    select(_known.c.subject_id, _known.c.agency_id, _known.c.reference)
    .join(_given, _given.c.subject_id == _known.c.subject_id)
    .where(
        _given.c.agency_id == bindparam("agency_id"), _given.c.reference == bindparam("reference")
    )
)


def references_by(
    session: Session, agency_id: str, reference: str
) -> tuple[str | None, dict[str, str]]:
    """The subject an agency means by its reference, and every agency's reference for it
    (agency id -> reference), in one lookup; ``(None, {})`` if the gateway does not know it."""
    rows = (
        session.connection()
        .execute(_REFERENCES_BY, {"agency_id": agency_id, "reference": reference})
        .all()
    )
    if not rows:
        return None, {}
    return rows[0].subject_id, {row.agency_id: row.reference for row in rows}
