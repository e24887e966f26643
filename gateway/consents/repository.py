"""All SQL of the consent registry (and of subject references, which recording creates)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from consent.check import Permission
from consent.model import GiverRole, Status
from gateway.consents.notices_tables import WithdrawalNotice
from gateway.consents.tables import (
    ConsentParty,
    ConsentPermission,
    ConsentRecord,
    ConsentVersion,
    PortalCode,
)
from gateway.subjects.tables import Subject, SubjectReference


def subjects_of(
    session: Session, references: dict[str, str], *, hold: bool = False
) -> dict[str, str]:
    """agency id -> subject id, for the references the gateway already knows.

    ``hold``: for a change that will attach something to these persons, their rows are held
    (``FOR KEY SHARE``) until it commits, so the lifecycle cannot erase them meanwhile; one
    the lifecycle is erasing is waited for, and then is not found."""
    found: dict[str, str] = {}
    for agency_id, reference in references.items():
        query = select(SubjectReference.subject_id).where(
            SubjectReference.agency_id == agency_id, SubjectReference.reference == reference
        )
        if hold:
            query = query.join(Subject, Subject.id == SubjectReference.subject_id)
            query = query.with_for_update(key_share=True, of=Subject)
        subject = session.scalar(query)
        if subject is not None:
            found[agency_id] = subject
    return found


def references_of(session: Session, subject_id: str) -> dict[str, str]:
    rows = session.execute(
        select(SubjectReference.agency_id, SubjectReference.reference).where(
            SubjectReference.subject_id == subject_id
        )
    )
    return {agency_id: reference for agency_id, reference in rows}


def add_subject(session: Session, subject_id: str, now: datetime) -> None:
    session.add(Subject(id=subject_id, created_at=now))
    session.flush()


def add_reference(session: Session, agency_id: str, reference: str, subject_id: str) -> None:
    session.add(SubjectReference(agency_id=agency_id, reference=reference, subject_id=subject_id))
    session.flush()


def set_reference(session: Session, agency_id: str, subject_id: str, reference: str) -> None:
    """Give ``agency_id`` this reference for the subject, replacing the one it had."""
    existing = session.scalar(
        select(SubjectReference).where(
            SubjectReference.agency_id == agency_id, SubjectReference.subject_id == subject_id
        )
    )
    if existing is not None:
        session.delete(existing)
        session.flush()
    add_reference(session, agency_id, reference, subject_id)


def add_consent(session: Session, consent: ConsentRecord, parties: set[str]) -> None:
    session.add(consent)
    session.flush()
    session.add_all(ConsentParty(consent_id=consent.id, agency_id=party) for party in parties)


def add_version(
    session: Session,
    version: ConsentVersion,
    subject_id: str,
    permissions: set[tuple[str, str, str, str]],
) -> None:
    session.add(version)
    session.flush()
    session.add_all(
        ConsentPermission(
            consent_id=version.consent_id,
            version=version.version,
            provider=provider,
            recipient=recipient,
            category=category,
            purpose=purpose,
            subject_id=subject_id,
        )
        for provider, recipient, category, purpose in sorted(permissions)
    )
    session.flush()


def consent(session: Session, consent_id: str, *, for_update: bool = False) -> ConsentRecord | None:
    query = select(ConsentRecord).where(ConsentRecord.id == consent_id)
    if for_update:
        # Serialises changes to one consent (and a withdrawal against a release re-check).
        query = query.with_for_update()
    return session.scalar(query)


def portal_code_by_hash(session: Session, code_hash: str) -> PortalCode | None:
    """The code issue whose code has this hash (the portal's sign-in), ended or not."""
    return session.scalar(select(PortalCode).where(PortalCode.code_hash == code_hash))


def portal_code(session: Session, issue_id: str) -> PortalCode | None:
    return session.get(PortalCode, issue_id)


def add_portal_code(session: Session, code: PortalCode) -> None:
    session.add(code)
    session.flush()


def end_portal_codes(session: Session, subject_id: str, now: datetime) -> int:
    """End every live code of the person; how many there were."""
    result = session.execute(
        update(PortalCode)
        .where(PortalCode.subject_id == subject_id, PortalCode.ended_at.is_(None))
        .values(ended_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def consent_kept_since(session: Session, consent_id: str, since: datetime) -> bool:
    """Whether the consent is active, or ended (withdrawn, expired) after ``since``: its
    current version's end, or its validity's end if it has none, lies later."""
    ends = func.coalesce(ConsentVersion.ended_at, ConsentVersion.valid_until)
    found = session.scalar(
        select(ConsentRecord.id)
        .join(
            ConsentVersion,
            (ConsentVersion.consent_id == ConsentRecord.id)
            & (ConsentVersion.version == ConsentRecord.current_version),
        )
        .where(ConsentRecord.id == consent_id, ends > since)
    )
    return found is not None


def lock_subject(session: Session, subject_id: str) -> None:
    """Hold the person's row until the transaction ends (SQLite: its writers hold the
    database's write lock already)."""
    session.execute(select(Subject.id).where(Subject.id == subject_id).with_for_update())


def consents_of_subject(session: Session, subject_id: str) -> Sequence[ConsentRecord]:
    """Every consent about one person, oldest first (what the person sees in the portal)."""
    return session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.subject_id == subject_id)
        .order_by(ConsentRecord.created_at, ConsentRecord.id)
    ).all()


def version(session: Session, consent_id: str, number: int) -> ConsentVersion | None:
    return session.get(ConsentVersion, (consent_id, number))


def versions(session: Session, consent_id: str) -> Sequence[ConsentVersion]:
    return session.scalars(
        select(ConsentVersion)
        .where(ConsentVersion.consent_id == consent_id)
        .order_by(ConsentVersion.version)
    ).all()


def expired_unrecorded(
    session: Session, now: datetime, limit: int
) -> Sequence[tuple[ConsentVersion, str]]:
    """Active versions past their end whose expiry is not yet in the audit log."""
    rows = session.execute(
        select(ConsentVersion, ConsentRecord.subject_id)
        .join(ConsentRecord, ConsentRecord.id == ConsentVersion.consent_id)
        .where(
            ConsentVersion.status == Status.ACTIVE.value,
            ConsentVersion.valid_until <= now,
            ConsentVersion.expiry_recorded_at.is_(None),
        )
        .order_by(ConsentVersion.valid_until)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(version, subject_id) for version, subject_id in rows]


def lock_consents_between(session: Session, subject_id: str, provider: str, recipient: str) -> None:
    """Lock the subject's consents with permissions from ``provider`` to ``recipient``, in id
    order: a change to any of them waits for this transaction, and this one for theirs.

    On SQLite every writing transaction holds the database's write lock from its start
    (``BEGIN IMMEDIATE``), which already does that: nothing to run.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        _LOCK_BETWEEN, {"subject_id": subject_id, "provider": provider, "recipient": recipient}
    ).all()


def is_party(session: Session, consent_id: str, agency_id: str) -> bool:
    return session.get(ConsentParty, (consent_id, agency_id)) is not None


def notices_for(
    session: Session, recipient: str, include_answered: bool
) -> Sequence[WithdrawalNotice]:
    query = select(WithdrawalNotice).where(WithdrawalNotice.recipient == recipient)
    if not include_answered:
        query = query.where(WithdrawalNotice.acknowledged_at.is_(None))
    return session.scalars(query.order_by(WithdrawalNotice.created_at)).all()


def notice(session: Session, notice_id: str) -> WithdrawalNotice | None:
    return session.get(WithdrawalNotice, notice_id)


def consents_of_subject_for(
    session: Session, subject_id: str, agency_id: str
) -> Sequence[ConsentRecord]:
    return session.scalars(
        select(ConsentRecord)
        .join(ConsentParty, ConsentParty.consent_id == ConsentRecord.id)
        .where(ConsentRecord.subject_id == subject_id, ConsentParty.agency_id == agency_id)
        .order_by(ConsentRecord.created_at)
    ).all()


def permissions(
    session: Session, subject_id: str, provider: str, recipient: str, *, given_by: bool = False
) -> list[Permission]:
    """The subject's permissions from ``provider`` to ``recipient``, with their versions' state:
    one indexed lookup, whatever the number of consents in the registry. With ``given_by``,
    also who gave each version (needed for confided data only, so read only then)."""
    rows = session.connection().execute(
        _PERMISSIONS_GIVEN_BY if given_by else _PERMISSIONS,
        {"subject_id": subject_id, "provider": provider, "recipient": recipient},
    )
    return [
        Permission(
            consent_id=row.consent_id,
            version=row.version,
            provider=provider,
            recipient=recipient,
            category=row.category,
            purpose=row.purpose,
            status=Status(row.status),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            given_by=frozenset(map(GiverRole, row.given_by)) if given_by else frozenset(),
        )
        for row in rows
    ]


# The exchange path's statements, built once from the tables' columns (Core, not ORM
# entities) and run on the session's connection: they run on every query, some twice.
_permission: Table = ConsentPermission.__table__  # type: ignore[assignment]  # mapped to a Table
_version: Table = ConsentVersion.__table__  # type: ignore[assignment]
_record: Table = ConsentRecord.__table__  # type: ignore[assignment]
_BETWEEN = (
    (_permission.c.subject_id == bindparam("subject_id"))
    & (_permission.c.provider == bindparam("provider"))
    & (_permission.c.recipient == bindparam("recipient"))
)
_PERMISSIONS = (
    select(
        _permission.c.consent_id,
        _permission.c.version,
        _permission.c.category,
        _permission.c.purpose,
        _version.c.status,
        _version.c.valid_from,
        _version.c.valid_until,
    )
    .join(
        _version,
        (_version.c.consent_id == _permission.c.consent_id)
        & (_version.c.version == _permission.c.version),
    )
    .where(_BETWEEN)
)
_PERMISSIONS_GIVEN_BY = _PERMISSIONS.add_columns(_version.c.given_by)
_LOCK_BETWEEN = (
    select(_record.c.id)
    .where(_record.c.id.in_(select(_permission.c.consent_id).where(_BETWEEN)))
    .order_by(_record.c.id)
    .with_for_update()
)
