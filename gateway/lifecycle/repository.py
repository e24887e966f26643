"""All SQL of the lifecycle: which rows are due, taken a batch at a time, and their erasure.

Every batch is chosen with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL): several gateway instances
running the lifecycle at once each take rows the others do not hold, and a row another one
erased is gone once it commits, so no row is erased (or counted) twice. SQLite renders no
locking clause; its writers hold the database's write lock from their start anyway
(``BEGIN IMMEDIATE``), so two batches never overlap there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from consent.model import Status as ConsentStatus
from gateway.consents.notices_tables import WithdrawalNotice
from gateway.consents.tables import (
    ConsentParty,
    ConsentPermission,
    ConsentRecord,
    ConsentVersion,
    PortalCode,
)
from gateway.db.engine import Database
from gateway.emergency.tables import EmergencyUse, EmergencyWindow
from gateway.messages.tables import Message, State
from gateway.rectifications.tables import Rectification
from gateway.release.tables import Release
from gateway.subjects.tables import Subject, SubjectControl, SubjectReference
from gateway.web.tables import LoginFailures, WebSession

PORTAL_REALM = "portal"  # gateway.web.sessions.Realm.PORTAL, whose sessions name a code's issue


# Persons a DPO restricted or put on hold (a row exists only while one is set): nothing of
# theirs is erased, by the lifecycle or on request, until both are lifted.
_KEPT = select(SubjectControl.subject_id)


def _count(session: Session, query: Select[Any] | Select[str, str]) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _deleted(session: Session, statement: Any) -> int:
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


# -- the release ledger ------------------------------------------------------------------------


def _releases_due(flows: Mapping[str, datetime], fallback_before: datetime) -> ColumnElement[bool]:
    """Rows of a known flow released before its cut-off, and rows of a flow the active policy
    set no longer has (or never named) released before the fallback cut-off."""
    known = [
        and_(Release.policy_flow == name, Release.released_at < before)
        for name, before in flows.items()
    ]
    unknown = or_(Release.policy_flow.is_(None), Release.policy_flow.not_in(list(flows)))
    return and_(
        or_(*known, and_(unknown, Release.released_at < fallback_before)),
        Release.subject_id.not_in(_KEPT),
    )


def releases_due(
    session: Session, flows: Mapping[str, datetime], fallback_before: datetime, limit: int
) -> Sequence[tuple[str, str, str]]:
    """(id, category, subject id) of up to ``limit`` due ledger rows, locked."""
    rows = session.execute(
        select(Release.id, Release.category, Release.subject_id)
        .where(_releases_due(flows, fallback_before))
        .order_by(Release.released_at, Release.id, Release.category)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(row[0], row[1], row[2]) for row in rows]


def count_releases_due(
    session: Session, flows: Mapping[str, datetime], fallback_before: datetime
) -> int:
    return _count(session, select(Release.id).where(_releases_due(flows, fallback_before)))


def erase_releases(session: Session, keys: Sequence[tuple[str, str]]) -> int:
    return _deleted(
        session, delete(Release).where(tuple_(Release.id, Release.category).in_(list(keys)))
    )


# -- closed messages ---------------------------------------------------------------------------


def _messages_due(before: datetime) -> ColumnElement[bool]:
    return and_(
        Message.state != State.PENDING.value,
        Message.closed_at < before,
        Message.subject_id.not_in(_KEPT),
    )


def messages_due(session: Session, before: datetime, limit: int) -> Sequence[tuple[str, str]]:
    """(id, subject id) of up to ``limit`` messages closed before ``before``, locked."""
    rows = session.execute(
        select(Message.id, Message.subject_id)
        .where(_messages_due(before))
        .order_by(Message.closed_at, Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(row[0], row[1]) for row in rows]


def count_messages_due(session: Session, before: datetime) -> int:
    return _count(session, select(Message.id).where(_messages_due(before)))


def erase_messages(session: Session, ids: Sequence[str]) -> int:
    return _deleted(session, delete(Message).where(Message.id.in_(list(ids))))


# -- ended consents ----------------------------------------------------------------------------


def _consents_due(before: datetime) -> Select[str, str]:
    """Consents whose current version ended (withdrawn: its end; expired: its validity's end)
    before ``before``, with no withdrawal notice still unanswered and no message still
    waiting under them."""
    ends = func.coalesce(ConsentVersion.ended_at, ConsentVersion.valid_until)
    open_notice = exists().where(
        WithdrawalNotice.consent_id == ConsentRecord.id,
        WithdrawalNotice.acknowledged_at.is_(None),
    )
    waiting = exists().where(
        Message.consent_id == ConsentRecord.id, Message.state == State.PENDING.value
    )
    unanswered = exists().where(
        Rectification.consent_id == ConsentRecord.id, Rectification.answered_at.is_(None)
    )
    query = (
        select(ConsentRecord.id, ConsentRecord.subject_id)
        .join(
            ConsentVersion,
            (ConsentVersion.consent_id == ConsentRecord.id)
            & (ConsentVersion.version == ConsentRecord.current_version),
        )
        .where(
            ends < before,
            ~open_notice,
            ~waiting,
            ~unanswered,
            ConsentRecord.subject_id.not_in(_KEPT),
        )
    )
    return query


def consents_due(session: Session, before: datetime, limit: int) -> Sequence[tuple[str, str]]:
    """(consent id, subject id) of up to ``limit`` consents past their proof period, locked."""
    rows = session.execute(
        _consents_due(before)
        .order_by(ConsentRecord.id)
        .limit(limit)
        .with_for_update(of=ConsentRecord, skip_locked=True)
    )
    return [(row[0], row[1]) for row in rows]


def count_consents_due(session: Session, before: datetime) -> int:
    return _count(session, _consents_due(before))


def erase_consents(session: Session, ids: Sequence[str]) -> dict[str, int]:
    """Erase the consents with everything recorded about them: versions (with receipts and
    evidence), permission rows, parties, portal codes (and portal sessions opened with
    them), withdrawal notices, answered rectification notices about what was released under
    them. How many rows of each went."""
    wanted = list(ids)
    codes = list(session.scalars(select(PortalCode.id).where(PortalCode.consent_id.in_(wanted))))
    sessions = _deleted(
        session,
        delete(WebSession).where(
            WebSession.realm == PORTAL_REALM, WebSession.principal.in_(codes) if codes else false()
        ),
    )
    return {
        "portal_sessions": sessions,
        "portal_codes": _deleted(
            session, delete(PortalCode).where(PortalCode.consent_id.in_(wanted))
        ),
        "permissions": _deleted(
            session, delete(ConsentPermission).where(ConsentPermission.consent_id.in_(wanted))
        ),
        "versions": _deleted(
            session, delete(ConsentVersion).where(ConsentVersion.consent_id.in_(wanted))
        ),
        "parties": _deleted(
            session, delete(ConsentParty).where(ConsentParty.consent_id.in_(wanted))
        ),
        "notices": _deleted(
            session, delete(WithdrawalNotice).where(WithdrawalNotice.consent_id.in_(wanted))
        ),
        "rectifications": _deleted(
            session, delete(Rectification).where(Rectification.consent_id.in_(wanted))
        ),
        "consents": _deleted(session, delete(ConsentRecord).where(ConsentRecord.id.in_(wanted))),
    }


# -- emergency access ------------------------------------------------------------------------


def _windows_due(before: datetime, now: datetime) -> Select[str, str]:
    """Records of emergency access that closed before ``before``, were reviewed, and are
    shown to the person (no deferral running): an unreviewed one is kept until a DPO has
    reviewed it, whatever its age."""
    return select(EmergencyWindow.id, EmergencyWindow.subject_id).where(
        EmergencyWindow.closes_at < before,
        EmergencyWindow.reviewed_at.is_not(None),
        or_(EmergencyWindow.deferred_until.is_(None), EmergencyWindow.deferred_until <= now),
        EmergencyWindow.subject_id.not_in(_KEPT),
    )


def windows_due(
    session: Session, before: datetime, now: datetime, limit: int
) -> Sequence[tuple[str, str]]:
    """Up to ``limit`` (window id, subject id) due, locked."""
    query = _windows_due(before, now).order_by(EmergencyWindow.id).limit(limit)
    return [(row[0], row[1]) for row in session.execute(query.with_for_update(skip_locked=True))]


def count_windows_due(session: Session, before: datetime, now: datetime) -> int:
    return _count(session, _windows_due(before, now))


def erase_windows(session: Session, ids: Sequence[str]) -> dict[str, int]:
    wanted = list(ids)
    return {
        "uses": _deleted(session, delete(EmergencyUse).where(EmergencyUse.window_id.in_(wanted))),
        "windows": _deleted(session, delete(EmergencyWindow).where(EmergencyWindow.id.in_(wanted))),
    }


def emergency_windows_of(session: Session, subject_id: str) -> int:
    """The person's records of emergency access (an erasure on request is refused while one
    is kept: it is kept by law, Art. 17(3)(b) GDPR)."""
    return _count(
        session, select(EmergencyWindow.id).where(EmergencyWindow.subject_id == subject_id)
    )


# -- persons -----------------------------------------------------------------------------------


def _persons_due() -> Select[Any]:
    """Persons of whom nothing is left: no consent (in any state), no ledger row, no message,
    no record of an emergency access, no rectification notice still unanswered or going with
    its consent (an answered one about a release by statute goes with the person)."""
    return select(Subject.id).where(
        ~exists().where(ConsentRecord.subject_id == Subject.id),
        ~exists().where(PortalCode.subject_id == Subject.id),
        ~exists().where(Release.subject_id == Subject.id),
        ~exists().where(Message.subject_id == Subject.id),
        ~exists().where(EmergencyWindow.subject_id == Subject.id),
        ~exists().where(
            Rectification.subject_id == Subject.id,
            or_(Rectification.answered_at.is_(None), Rectification.consent_id.is_not(None)),
        ),
        Subject.id.not_in(_KEPT),
    )


def persons_due(session: Session, limit: int) -> Sequence[str]:
    """Up to ``limit`` persons of whom nothing is left, locked."""
    return list(
        session.scalars(
            _persons_due().order_by(Subject.id).limit(limit).with_for_update(skip_locked=True)
        )
    )


def count_persons_due(session: Session) -> int:
    return _count(session, _persons_due())


def erase_persons(session: Session, ids: Sequence[str]) -> dict[str, int]:
    wanted = list(ids)
    # None are there when the lifecycle erases (it skips such persons), nor on request (it
    # is refused while one is set); a row lifted to nothing is gone already. For the FK.
    session.execute(delete(SubjectControl).where(SubjectControl.subject_id.in_(wanted)))
    return {
        "rectifications": _deleted(
            session, delete(Rectification).where(Rectification.subject_id.in_(wanted))
        ),
        "references": _deleted(
            session, delete(SubjectReference).where(SubjectReference.subject_id.in_(wanted))
        ),
        "persons": _deleted(session, delete(Subject).where(Subject.id.in_(wanted))),
    }


# -- everything of one person (erasure on request) ----------------------------------------------


def releases_of(session: Session, subject_id: str) -> Sequence[tuple[str, str]]:
    """(id, category) of the person's ledger rows."""
    rows = session.execute(
        select(Release.id, Release.category).where(Release.subject_id == subject_id)
    )
    return [(row[0], row[1]) for row in rows]


def messages_of(session: Session, subject_id: str, *, pending: bool) -> Sequence[str]:
    """Ids of the person's messages: those still waiting, or those closed."""
    waiting = Message.state == State.PENDING.value
    return list(
        session.scalars(
            select(Message.id).where(
                Message.subject_id == subject_id, waiting if pending else ~waiting
            )
        )
    )


def consents_of(session: Session, subject_id: str) -> Sequence[str]:
    """Ids of the person's consents in any state, locked in id order (the order a release
    takes them)."""
    return list(
        session.scalars(
            select(ConsentRecord.id)
            .where(ConsentRecord.subject_id == subject_id)
            .order_by(ConsentRecord.id)
            .with_for_update()
        )
    )


def active_consents_of(session: Session, subject_id: str, now: datetime) -> int:
    """How many of the person's consents are active now or still to come."""
    current = and_(
        ConsentVersion.consent_id == ConsentRecord.id,
        ConsentVersion.version == ConsentRecord.current_version,
    )
    return _count(
        session,
        select(ConsentRecord.id)
        .join(ConsentVersion, current)
        .where(
            ConsentRecord.subject_id == subject_id,
            ConsentVersion.status == ConsentStatus.ACTIVE.value,
            ConsentVersion.valid_until > now,
        ),
    )


def open_notices_of(session: Session, subject_id: str) -> int:
    """How many withdrawal notices about the person's consents are still unanswered."""
    return _count(
        session,
        select(WithdrawalNotice.id)
        .join(ConsentRecord, ConsentRecord.id == WithdrawalNotice.consent_id)
        .where(ConsentRecord.subject_id == subject_id, WithdrawalNotice.acknowledged_at.is_(None)),
    )


def open_rectifications_of(session: Session, subject_id: str) -> int:
    """How many of the person's requests to correct what an office passed on are unanswered."""
    return _count(
        session,
        select(Rectification.id).where(
            Rectification.subject_id == subject_id, Rectification.answered_at.is_(None)
        ),
    )


# -- page sessions and sign-in throttles -------------------------------------------------------


def _sessions_due(idle_before: datetime, started_before: datetime) -> ColumnElement[bool]:
    return or_(WebSession.last_seen_at < idle_before, WebSession.created_at < started_before)


def _throttles_due(first_before: datetime, now: datetime) -> ColumnElement[bool]:
    """Failures counted longer ago than the lock-out period, and no lock holding now."""
    return and_(
        LoginFailures.first_at < first_before,
        or_(LoginFailures.locked_until.is_(None), LoginFailures.locked_until <= now),
    )


def sessions_due(
    session: Session, idle_before: datetime, started_before: datetime, limit: int
) -> Sequence[str]:
    return list(
        session.scalars(
            select(WebSession.token_hash)
            .where(_sessions_due(idle_before, started_before))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def count_sessions_due(session: Session, idle_before: datetime, started_before: datetime) -> int:
    return _count(
        session, select(WebSession.token_hash).where(_sessions_due(idle_before, started_before))
    )


def erase_sessions(session: Session, token_hashes: Sequence[str]) -> int:
    return _deleted(
        session, delete(WebSession).where(WebSession.token_hash.in_(list(token_hashes)))
    )


def throttles_due(
    session: Session, first_before: datetime, now: datetime, limit: int
) -> Sequence[str]:
    return list(
        session.scalars(
            select(LoginFailures.key)
            .where(_throttles_due(first_before, now))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def count_throttles_due(session: Session, first_before: datetime, now: datetime) -> int:
    return _count(session, select(LoginFailures.key).where(_throttles_due(first_before, now)))


def erase_throttles(session: Session, keys: Sequence[str]) -> int:
    return _deleted(session, delete(LoginFailures).where(LoginFailures.key.in_(list(keys))))


# -- storage -----------------------------------------------------------------------------------


def truncate_wal(database: Database) -> bool:
    """SQLite: copy the write-ahead log into the database file and truncate it, so that the
    pages erased rows were on (secure_delete zeroes them in the file) leave the log too.
    Whether it was done: a reader still on an older snapshot keeps it for the next run.
    PostgreSQL: nothing (see the README on what its WAL keeps)."""
    if database.engine.dialect.name != "sqlite":
        return False
    connection = database.engine.raw_connection()
    try:
        cursor = connection.cursor()
        busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        connection.close()
    return not busy
