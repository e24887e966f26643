"""What the DPO's emergency-access pages show (``gateway.emergency.review`` does the acting):
every window at once, newest first, each with where it stands; one window with its uses.

A person appears only as the audit log's pseudonym, never by a reference: the DPO finds the
same person in the audit search by it, and nobody reading over a shoulder learns a file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from gateway.audit.service import AuditLog
from gateway.db.engine import Database
from gateway.emergency import repository, review
from gateway.emergency.review import Justification, State
from gateway.emergency.tables import EmergencyUse, EmergencyWindow
from gateway.errors import NotFound
from gateway.messages.sealing import MessageKeys


@dataclass(frozen=True)
class Row:
    window: EmergencyWindow
    state: State
    providers: list[str]
    uses: int
    pseudonym: str
    deferred_until: datetime | None  # while showing it to the person is deferred

    @property
    def overdue(self) -> bool:
        return self.state is State.OVERDUE


@dataclass(frozen=True)
class Detail:
    window: EmergencyWindow
    state: State
    uses: Sequence[EmergencyUse]
    pseudonym: str
    deferred: bool  # showing it to the person is deferred now
    latest_deferral: date  # the last day it may be deferred to
    earliest_deferral: date  # the first day a deferral may name (tomorrow)

    @property
    def overdue(self) -> bool:
        return self.state is State.OVERDUE


def rows(session: Session, audit: AuditLog, now: datetime) -> list[Row]:
    """Every window, newest first."""
    found = review.windows(session)
    counted = repository.providers_and_uses(session)
    return [
        Row(
            window=window,
            state=review.state(window, now),
            providers=counted.get(window.id, ([], 0))[0],
            uses=counted.get(window.id, ([], 0))[1],
            pseudonym=audit.pseudonymizer.pseudonym(window.subject_id),
            deferred_until=window.deferred_until if review.deferred(window, now) else None,
        )
        for window in found
    ]


def detail(
    session: Session, audit: AuditLog, window_id: str, now: datetime, max_deferral_days: int
) -> Detail:
    """One window and its uses; an unknown id is the pages' "no such page"."""
    try:
        window, uses = review.window(session, window_id)
    except review.NotFound:
        raise NotFound() from None
    return Detail(
        window=window,
        state=review.state(window, now),
        uses=uses,
        pseudonym=audit.pseudonymizer.pseudonym(window.subject_id),
        deferred=review.deferred(window, now),
        latest_deferral=(window.opened_at + timedelta(days=max_deferral_days)).date(),
        earliest_deferral=now.date() + timedelta(days=1),
    )


def read(
    database: Database,
    audit: AuditLog,
    sealing: MessageKeys,
    window_id: str,
    use_id: str,
    *,
    actor: str,
    now: datetime,
) -> Justification:
    """A use of this window's justification, read (on record first) and compared with its
    audit entry; a use of another window, or none, is "no such page" and nothing is read.
    A justification no longer kept is a ``ReviewError`` the page says in words."""
    with database.transaction(read_only=True) as session:
        use = repository.use(session, use_id)
        if use is None or use.window_id != window_id:
            raise NotFound()
    return review.read_justification(database, audit, sealing, use_id, actor=actor, now=now)


def status(session: Session, now: datetime) -> review.Status:
    return review.status(session, now)
