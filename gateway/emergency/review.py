"""What data-protection officers do about emergency access afterwards: see every window at
once, read a use's sealed justification (on record), review each window (justified or not,
with a comment, on record), and defer showing it to the person for a bounded time (on record,
and its end too). Nothing is ever hidden from the person for good: a deferral ends by itself.

The DPO's comment and reason for deferring are their own words and stay in the database; the
audit log records each action under the person's pseudonym, with the comment and the reason
only as keyed digests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit.events import OPERATOR, AuditEvent, EventType
from gateway.audit.service import AuditLog, decode
from gateway.db.engine import Database
from gateway.emergency import repository
from gateway.emergency.access import associated_data
from gateway.emergency.tables import EmergencyUse, EmergencyWindow, Verdict
from gateway.messages.sealing import MessageKeys, Sealed

COMMENT_MAX = 2000
REASON_MAX = 1000


class ReviewError(ValueError):
    """What a DPO asked for that cannot be done; the message says why, without personal data.
    ``code`` (and ``values``) name the case, for the DPO pages to say it in their language."""

    def __init__(self, message: str, code: str = "", **values: object):
        super().__init__(message)
        self.code = code or "refused"
        self.values = values


class NotFound(ReviewError):
    """No such window or use."""


class State(StrEnum):
    """Where a window stands, at a moment."""

    OPEN = "open"  # emergency queries may still fall in it
    AWAITING_REVIEW = "awaiting_review"
    OVERDUE = "overdue"  # not reviewed, and its review is due
    REVIEWED = "reviewed"


def state(window: EmergencyWindow, now: datetime) -> State:
    if window.reviewed_at is not None:
        return State.REVIEWED
    if window.review_due_at <= now:
        return State.OVERDUE
    return State.OPEN if window.closes_at > now else State.AWAITING_REVIEW


def deferred(window: EmergencyWindow, now: datetime) -> bool:
    return window.deferred_until is not None and window.deferred_until > now


@dataclass(frozen=True)
class Justification:
    case_number: str
    text: str
    matches_audit: bool | None = None  # set by whoever compares it with the audit entry


def windows(session: Session) -> Sequence[EmergencyWindow]:
    return repository.windows(session)


def window(session: Session, window_id: str) -> tuple[EmergencyWindow, Sequence[EmergencyUse]]:
    found = repository.window(session, window_id)
    if found is None:
        raise NotFound("no such emergency access", "not_found")
    return found, repository.uses_in(session, window_id)


def read_justification(
    database: Database,
    audit: AuditLog,
    sealing: MessageKeys,
    use_id: str,
    *,
    actor: str,
    now: datetime,
) -> Justification:
    """A use's justification, opened for a DPO, and whether it is the one the release's audit
    entry recorded (its ``justification_hmac``; ``matches_audit`` is None when that entry is
    no longer kept). The reading is recorded first: if recording fails, nothing is shown."""
    with database.transaction() as session:
        use = repository.use(session, use_id)
        if use is None:
            raise NotFound("no such emergency query", "not_found")
        audit.record(
            session,
            AuditEvent(
                EventType.EMERGENCY_JUSTIFICATION_READ,
                actor=actor,
                requester=use.recipient,
                provider=use.provider,
                subject_id=use.subject_id,
                details={"emergency_window": use.window_id, "exchange_id": use.id},
            ),
            now=now,
        )
        sealed = _sealed(use)
        recorded = _recorded(session, audit, use)
    if sealed is None:
        raise NotFound("the justification is no longer kept", "not_kept")
    plain = sealing.open(sealed, associated_data(use_id))
    opened = json.loads(plain)
    matches = None
    if recorded is not None:
        matches = audit.digests.justification_matches(
            str(recorded["justification_hmac"]), recorded.get("subject"),
            str(recorded["time"]), plain,
        )  # fmt: skip
    return Justification(str(opened["case_number"]), str(opened["text"]), matches)


def _recorded(session: Session, audit: AuditLog, use: EmergencyUse) -> dict[str, Any] | None:
    """The body of the permit entry that recorded the use, if it is still kept."""
    pseudonym = audit.pseudonymizer.pseudonym(use.subject_id)
    for body in repository.release_entry_bodies(session, pseudonym, use):
        entry = decode(body)
        details = entry.get("details") or {}
        if details.get("exchange_id") == use.id and "justification_hmac" in entry:
            return entry
    return None


def _sealed(use: EmergencyUse) -> Sealed | None:
    if use.key_id is None or use.wrapped_key is None or use.nonce is None:
        return None
    return Sealed(use.key_id, use.wrapped_key, use.nonce, use.ciphertext or b"")


def review(
    database: Database,
    audit: AuditLog,
    window_id: str,
    *,
    verdict: Verdict,
    comment: str,
    actor: str,
    now: datetime,
) -> EmergencyWindow:
    """Record a DPO's review of a window, once; a comment is required (why it was, or was
    not, justified)."""
    comment = _words(comment, COMMENT_MAX, "a comment", "comment")
    with database.transaction() as session:
        found = _locked(session, window_id)
        if found.reviewed_at is not None:
            raise ReviewError("this emergency access was reviewed already", "reviewed_already")
        found.reviewed_at, found.reviewed_by = now, actor
        found.verdict, found.review_comment = verdict.value, comment
        audit.record(
            session,
            AuditEvent(
                EventType.EMERGENCY_REVIEWED,
                actor=actor,
                requester=found.recipient,
                subject_id=found.subject_id,
                payload=comment.encode(),
                details={"emergency_window": found.id, "verdict": verdict.value},
            ),
            now=now,
        )
        return found


def defer(
    database: Database,
    audit: AuditLog,
    window_id: str,
    *,
    until: datetime,
    reason: str,
    actor: str,
    now: datetime,
    max_days: int,
) -> EmergencyWindow:
    """Defer showing the window's uses to the person until ``until``: later than now, and no
    later than ``max_days`` after the window opened, whatever was deferred before. A reason
    is required. Setting it again moves the date (within the same bound)."""
    reason = _words(reason, REASON_MAX, "a reason", "reason")
    with database.transaction() as session:
        found = _locked(session, window_id)
        latest = found.opened_at + timedelta(days=max_days)
        if until <= now:
            raise ReviewError("the date must lie in the future", "date_past")
        if until > latest:
            raise ReviewError(
                f"showing it may be deferred by at most {max_days} days from the emergency "
                f"access, until {latest.date().isoformat()}",
                "date_too_late",
                days=max_days,
                latest=latest.date().isoformat(),
            )
        found.deferred_until, found.deferred_by, found.deferral_reason = until, actor, reason
        found.deferral_end_recorded_at = None
        audit.record(
            session,
            AuditEvent(
                EventType.EMERGENCY_DISCLOSURE_DEFERRED,
                actor=actor,
                requester=found.recipient,
                subject_id=found.subject_id,
                payload=reason.encode(),
                details={"emergency_window": found.id, "until": until.isoformat()},
            ),
            now=now,
        )
        return found


def end_deferral(
    database: Database, audit: AuditLog, window_id: str, *, actor: str, now: datetime
) -> EmergencyWindow:
    """Show the window to the person from now on (a DPO ends a deferral early)."""
    with database.transaction() as session:
        found = _locked(session, window_id)
        if not deferred(found, now):
            raise ReviewError("showing this emergency access is not deferred", "not_deferred")
        found.deferred_until = now
        _resumed(session, audit, found, actor, now)
        return found


def record_ended_deferrals(database: Database, audit: AuditLog, now: datetime) -> int:
    """Put on record every deferral whose date has passed (the person sees the window from
    that date on, whether or not this has run); how many."""
    with database.transaction() as session:
        ended = repository.deferrals_ended(session, now, limit=500)
        for found in ended:
            _resumed(session, audit, found, OPERATOR, now)
        return len(ended)


def _resumed(
    session: Session, audit: AuditLog, found: EmergencyWindow, actor: str, now: datetime
) -> None:
    found.deferral_end_recorded_at = now
    audit.record(
        session,
        AuditEvent(
            EventType.EMERGENCY_DISCLOSURE_RESUMED,
            actor=actor,
            requester=found.recipient,
            subject_id=found.subject_id,
            details={"emergency_window": found.id},
        ),
        now=now,
    )


@dataclass(frozen=True)
class Status:
    """What monitoring and the DPO overview are told: no person, no agency, only counts."""

    releases: int  # emergency queries that released data, as long as their records are kept
    unreviewed: int
    overdue: int


def status(session: Session, now: datetime) -> Status:
    return Status(
        repository.use_count(session),
        repository.unreviewed_count(session),
        repository.overdue_count(session, now),
    )


def _locked(session: Session, window_id: str) -> EmergencyWindow:
    found = repository.window(session, window_id, for_update=True)
    if found is None:
        raise NotFound("no such emergency access", "not_found")
    return found


def _words(text: str, limit: int, what: str, code: str) -> str:
    kept = "".join(c for c in text if c in "\n\t" or c.isprintable()).strip()
    if len(kept) < 3:
        raise ReviewError(f"{what} is required", f"{code}_required")
    if len(kept) > limit:
        raise ReviewError(f"{what} may be at most {limit} characters", f"{code}_too_long",
                          limit=limit)  # fmt: skip
    return kept
