"""A DPO acting on one person's data at their request or the law's: restricting its
processing (Art. 18 GDPR), holding it (a legal hold, e.g. for litigation) and erasing it now
(Art. 17 GDPR). The person is found by one agency's id and that agency's file reference.

- **Restricted**: every release about them (query, message sent, message fetched) is refused
  with ``processing_restricted`` (``gateway.release``), and nothing of theirs is erased, by the
  lifecycle or on request. Pending messages wait; consents, references and the ledger stay.
- **Held**: nothing of theirs is erased; releases go on.
- **Erased**: everything of theirs the lifecycle would erase one day goes now, in one
  transaction: consents in any state with all their evidence, ledger rows, closed messages,
  references and the person. Refused (and the refusal audited) while they have an active
  consent (it must be withdrawn first: a withdrawal tells recipients), a restriction or a
  hold, an unanswered withdrawal notice (the proof recipients were told, Art. 19 GDPR), or a
  message waiting for its recipient (it is fetched, acknowledged or expires first).

Every change is audited under the person's keyed pseudonym and the acting DPO (or the
operator); the DPO's note stays in the database, never in the log. Each action takes the
person's row exclusively, so releases under way finish first and later ones see it; an
erasure takes the person's consents first, in the order a release takes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.db.engine import Database
from gateway.lifecycle import repository as lifecycle
from gateway.subjects import repository as subjects
from gateway.subjects.tables import SubjectControl

NOTE_MAX = 500


class NotFound(Exception):
    """No person under this agency's reference (or no such agency: the answer is the same)."""


class Action(StrEnum):
    RESTRICT = "restrict"
    UNRESTRICT = "unrestrict"
    HOLD = "hold"
    RELEASE_HOLD = "release_hold"


class Refusal(StrEnum):
    """Why an erasure is refused: something of the person must be kept."""

    ACTIVE_CONSENT = "active_consent"
    LEGAL_HOLD = "legal_hold"
    PROCESSING_RESTRICTED = "processing_restricted"
    NOTICE_UNANSWERED = "notice_unanswered"
    MESSAGE_PENDING = "message_pending"
    RECTIFICATION_UNANSWERED = "rectification_unanswered"
    # A record of emergency access (§ 8a SGB VIII) is kept by law until its period ends.
    EMERGENCY_RECORD = "emergency_record"


# In words, for the command line (the DPO pages translate their own).
EXPLAINED = {
    Refusal.ACTIVE_CONSENT: "the person has an active consent; it must be withdrawn first",
    Refusal.LEGAL_HOLD: "a legal hold is set; lift it first",
    Refusal.PROCESSING_RESTRICTED: "the processing is restricted; lift the restriction first",
    Refusal.NOTICE_UNANSWERED: "a recipient has not yet answered a withdrawal notice",
    Refusal.MESSAGE_PENDING: "a message about the person is waiting for its recipient",
    Refusal.RECTIFICATION_UNANSWERED: "an office has not yet answered the person's request "
    "to correct what it passed on",
    Refusal.EMERGENCY_RECORD: "a record of an emergency access to protect a child is kept "
    "until its period ends (Art. 17(3)(b) GDPR)",
}

_EVENTS = {
    Action.RESTRICT: EventType.SUBJECT_RESTRICTED,
    Action.UNRESTRICT: EventType.SUBJECT_RESTRICTION_LIFTED,
    Action.HOLD: EventType.SUBJECT_HOLD_SET,
    Action.RELEASE_HOLD: EventType.SUBJECT_HOLD_LIFTED,
}


@dataclass(frozen=True)
class Mark:
    """A restriction or a hold: when, by whom, and the DPO's note."""

    at: datetime
    by: str
    note: str | None


@dataclass(frozen=True)
class State:
    """What is set on the person, and what keeps their data from being erased now."""

    restriction: Mark | None
    hold: Mark | None
    active_consents: int
    open_notices: int
    pending_messages: int
    open_rectifications: int
    emergency_records: int = 0

    @property
    def refusals(self) -> list[Refusal]:
        """Why an erasure would be refused now (empty: it would go ahead)."""
        checks = (
            (Refusal.ACTIVE_CONSENT, self.active_consents),
            (Refusal.LEGAL_HOLD, self.hold),
            (Refusal.PROCESSING_RESTRICTED, self.restriction),
            (Refusal.NOTICE_UNANSWERED, self.open_notices),
            (Refusal.MESSAGE_PENDING, self.pending_messages),
            (Refusal.RECTIFICATION_UNANSWERED, self.open_rectifications),
            (Refusal.EMERGENCY_RECORD, self.emergency_records),
        )
        return [refusal for refusal, present in checks if present]


@dataclass(frozen=True)
class Changed:
    state: State
    changed: bool  # False: it was so already (nothing recorded)


@dataclass(frozen=True)
class Erased:
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Refused:
    reasons: list[Refusal]
    state: State


def state(
    database: Database,
    audit: AuditLog,
    *,
    agency: str,
    reference: str,
    actor: str,
    now: datetime,
    request_id: str | None = None,
) -> State:
    """What is set on the person and what keeps their data; the look is recorded (by
    ``actor``) before it is shown, as a DPO's access report is: it tells whether ``agency``
    has the person on file, and whether a DPO restricted them. NotFound (nothing recorded) if
    the gateway knows nobody by that reference. Read, then recorded in a short transaction
    of its own, so the read holds no write lock."""
    with database.transaction(read_only=True) as session:
        subject_id = _subject(session, agency, reference)
        found = _state(session, subject_id, now)
    with database.transaction() as session:
        audit.record(
            session,
            AuditEvent(
                EventType.SUBJECT_VIEWED,
                actor=actor,
                subject_id=subject_id,
                request_id=request_id,
                details={"agency": agency},
            ),
            now=now,
        )
    return found


def control(
    database: Database,
    audit: AuditLog,
    action: Action,
    *,
    agency: str,
    reference: str,
    actor: str,
    note: str | None,
    now: datetime,
) -> Changed:
    """Set or lift a restriction or a hold; recorded (without the note) if it changed."""
    with database.transaction() as session:
        subject_id = _subject(session, agency, reference)
        if not subjects.lock_for_control(session, subject_id):
            raise NotFound()
        row = subjects.controls(session, subject_id)
        changed = _apply(session, row, action, subject_id, actor, (note or "").strip() or None, now)
        if changed:
            audit.record(
                session, AuditEvent(_EVENTS[action], actor=actor, subject_id=subject_id), now=now
            )
        return Changed(_state(session, subject_id, now), changed)


def erase(
    database: Database,
    audit: AuditLog,
    *,
    agency: str,
    reference: str,
    actor: str,
    now: datetime,
) -> Erased | Refused:
    """Erase everything of the person now, or refuse (on record) with every reason."""
    with database.transaction() as session:
        subject_id = _subject(session, agency, reference)
        consent_ids = lifecycle.consents_of(session, subject_id)  # locked, in id order
        if not subjects.lock_for_control(session, subject_id):
            raise NotFound()
        found = _state(session, subject_id, now)
        if reasons := found.refusals:
            audit.record(
                session,
                AuditEvent(
                    EventType.SUBJECT_ERASURE_REFUSED,
                    actor=actor,
                    subject_id=subject_id,
                    reason=reasons[0].value,
                    details={"reasons": " ".join(reason.value for reason in reasons)},
                ),
                now=now,
            )
            return Refused(reasons, found)
        counts = {
            "releases": lifecycle.erase_releases(
                session, lifecycle.releases_of(session, subject_id)
            ),
            "messages": lifecycle.erase_messages(
                session, lifecycle.messages_of(session, subject_id, pending=False)
            ),
            **lifecycle.erase_consents(session, consent_ids),
            **lifecycle.erase_persons(session, [subject_id]),
        }
        audit.record(
            session,
            AuditEvent(
                EventType.SUBJECT_ERASED,
                actor=actor,
                subject_id=subject_id,
                details={
                    **counts,
                    "subjects": audit.pseudonymizer.pseudonym(subject_id),
                },
            ),
            now=now,
        )
        return Erased(counts)


def _subject(session: Session, agency: str, reference: str) -> str:
    subject_id = subjects.subject_of(session, agency, reference)
    if subject_id is None:
        raise NotFound()
    return subject_id


def _state(session: Session, subject_id: str, now: datetime) -> State:
    row = subjects.controls(session, subject_id)
    restriction = hold = None
    if row is not None and row.restricted_at is not None:
        restriction = Mark(row.restricted_at, row.restricted_by or "", row.restriction_note)
    if row is not None and row.held_at is not None:
        hold = Mark(row.held_at, row.held_by or "", row.hold_note)
    return State(
        restriction=restriction,
        hold=hold,
        active_consents=lifecycle.active_consents_of(session, subject_id, now),
        open_notices=lifecycle.open_notices_of(session, subject_id),
        pending_messages=len(lifecycle.messages_of(session, subject_id, pending=True)),
        open_rectifications=lifecycle.open_rectifications_of(session, subject_id),
        emergency_records=lifecycle.emergency_windows_of(session, subject_id),
    )


def _apply(
    session: Session,
    row: SubjectControl | None,
    action: Action,
    subject_id: str,
    actor: str,
    note: str | None,
    now: datetime,
) -> bool:
    """Change the person's row as the action says; whether anything changed."""
    setting = action in (Action.RESTRICT, Action.HOLD)
    restriction = action in (Action.RESTRICT, Action.UNRESTRICT)
    current = None if row is None else (row.restricted_at if restriction else row.held_at)
    if (current is not None) == setting:
        return False
    if row is None:
        row = SubjectControl(subject_id=subject_id)
        subjects.add_controls(session, row)
    mark = (now, actor, note) if setting else (None, None, None)
    if restriction:
        row.restricted_at, row.restricted_by, row.restriction_note = mark
    else:
        row.held_at, row.held_by, row.hold_note = mark
    session.flush()
    if row.restricted_at is None and row.held_at is None:
        session.expunge(row)
        subjects.drop_controls(session, subject_id)
    return True
