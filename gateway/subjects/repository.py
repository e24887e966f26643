"""All SQL of subjects and references."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.orm import Session

from gateway.subjects.tables import Subject, SubjectControl, SubjectReference


def subject_of(session: Session, agency_id: str, reference: str) -> str | None:
    """The subject an agency means by its reference, if the gateway knows it."""
    return session.scalar(
        select(SubjectReference.subject_id).where(
            SubjectReference.agency_id == agency_id, SubjectReference.reference == reference
        )
    )


# Built once from the table's columns (Core, not ORM): the exchange path runs it on every query.
_references: Table = SubjectReference.__table__  # type: ignore[assignment]  # mapped to a Table
_subjects: Table = Subject.__table__  # type: ignore[assignment]
_controls: Table = SubjectControl.__table__  # type: ignore[assignment]
_given, _known = _references.alias("given"), _references.alias("known")
_REFERENCES_BY = (
    select(
        _known.c.subject_id,
        _known.c.agency_id,
        _known.c.reference,
        _controls.c.restricted_at.is_not(None).label("restricted"),
    )
    .join(_given, _given.c.subject_id == _known.c.subject_id)
    .outerjoin(_controls, _controls.c.subject_id == _known.c.subject_id)
    .where(
        _given.c.agency_id == bindparam("agency_id"), _given.c.reference == bindparam("reference")
    )
)
# The release's hold on the person (FOR SHARE: releases do not wait for each other; a
# restriction, a hold or an erasure takes the row FOR UPDATE and so waits for the releases
# under way, or they for it), with whether their processing is restricted.
_LOCK_PERSON = (
    select(_subjects.c.id, _controls.c.restricted_at.is_not(None).label("restricted"))
    .outerjoin(_controls, _controls.c.subject_id == _subjects.c.id)
    .where(_subjects.c.id == bindparam("subject_id"))
    .with_for_update(read=True, of=_subjects)
)


class Found(NamedTuple):
    """The person an agency's reference names (None: nobody), every agency's reference for
    them, and whether a DPO restricted their processing (Art. 18 GDPR)."""

    subject_id: str | None
    known: dict[str, str]
    restricted: bool


def references_by(session: Session, agency_id: str, reference: str) -> Found:
    """The subject an agency means by its reference, and every agency's reference for it
    (agency id -> reference), in one lookup; ``(None, {}, False)`` if the gateway does not
    know it."""
    rows = (
        session.connection()
        .execute(_REFERENCES_BY, {"agency_id": agency_id, "reference": reference})
        .all()
    )
    if not rows:
        return Found(None, {}, False)
    known = {row.agency_id: row.reference for row in rows}
    return Found(rows[0].subject_id, known, bool(rows[0].restricted))


def hold_for_release(session: Session, subject_id: str) -> bool | None:
    """Hold the person's row shared until the transaction ends; whether their processing is
    restricted, or None if the person is gone (erased)."""
    row = session.connection().execute(_LOCK_PERSON, {"subject_id": subject_id}).first()
    return None if row is None else bool(row.restricted)


# -- what a DPO set on a person ---------------------------------------------------------------


def lock_for_control(session: Session, subject_id: str) -> bool:
    """Hold the person's row exclusively (a restriction, a hold, an erasure): releases under
    way finish first, later ones wait. Whether the person still exists."""
    found = session.scalar(select(Subject.id).where(Subject.id == subject_id).with_for_update())
    return found is not None


def controls(session: Session, subject_id: str) -> SubjectControl | None:
    return session.get(SubjectControl, subject_id)


def add_controls(session: Session, row: SubjectControl) -> None:
    session.add(row)
    session.flush()


def drop_controls(session: Session, subject_id: str) -> None:
    """Nothing set any more: the row goes (and with it the DPO's notes)."""
    session.execute(delete(SubjectControl).where(SubjectControl.subject_id == subject_id))
