"""The lifecycle: each kind of data erased once its period has run out, in small batches.

The steps run in this order, each until nothing of its kind is due (or a round's budget is
spent): release ledger rows, closed messages, ended consents with their evidence, reviewed
records of emergency access, persons of whom nothing is left, page sessions and sign-in
throttles. A person goes in the same run as their last consent, ledger row, message or record
of emergency access.

Each batch is one short transaction: the rows are chosen (locked on PostgreSQL, see the
repository), erased, and the erasure recorded in the audit log in the same transaction, so a
batch is either wholly done and on record or not done at all. A run stopped anywhere (kill
-9 included) leaves whole batches behind it, and the next run erases what is still due: the
lifecycle keeps no state of its own, only the rows' times.

The audit entry of a batch counts what went and names erased persons only by their keyed
pseudonyms (and consents by their ids, as the entries about them did); never a reference.
Page sessions and sign-in throttles are erased without entries: they end within hours, name
no person, and their sweeping was never audited.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.db.engine import Database
from gateway.lifecycle import repository
from gateway.lifecycle.periods import CutOffs, Periods

GATEWAY = "gateway"  # the actor of the background chore's erasures


class Kind(StrEnum):
    RELEASES = "releases"
    MESSAGES = "messages"
    CONSENTS = "consents"
    EMERGENCY = "emergency"  # records of emergency access (gateway.emergency)
    PERSONS = "persons"
    SESSIONS = "sessions"
    SIGN_IN_FAILURES = "sign_in_failures"


@dataclass
class Report:
    """What a run erased (or, dry, found due) of each kind, and whether it stopped early."""

    erased: dict[Kind, int] = field(default_factory=lambda: dict.fromkeys(Kind, 0))
    batches: int = 0
    unfinished: bool = False  # a step stopped at its budget with rows still due

    @property
    def total(self) -> int:
        return sum(self.erased.values())

    def line(self) -> str:
        return " ".join(f"{kind.value}={count}" for kind, count in self.erased.items())


@dataclass(frozen=True)
class Batches:
    """How a run goes about it: rows per transaction, the pause between two, and how many
    batches each step may take (None: until nothing is due)."""

    size: int = 500
    pause: float = 0.0
    budget: int | None = None


# A step erases one batch in the session and returns (rows chosen, details for the audit
# entry, or None for kinds that are not audited).
Step = Callable[[Session, CutOffs, int], tuple[int, Mapping[str, str | int] | None]]


def run(
    database: Database,
    audit: AuditLog,
    periods: Periods,
    *,
    batches: Batches = Batches(),
    actor: str = GATEWAY,
    now: datetime | None = None,
) -> Report:
    """Erase everything whose period has run out at ``now`` (default: the time of the call)."""
    cut = periods.cut_offs(now or datetime.now(UTC))
    report = Report()
    for kind, step in _steps(audit):
        taken = 0
        while batches.budget is None or taken < batches.budget:
            if report.batches and batches.pause:
                time.sleep(batches.pause)
            with database.transaction() as session:
                chosen, details = step(session, cut, batches.size)
                if chosen and details is not None:
                    entry = {"kind": kind.value, **details}
                    audit.record(
                        session,
                        AuditEvent(EventType.LIFECYCLE_ERASED, actor=actor, details=entry),
                        now=cut.now if now is not None else None,
                    )
            if not chosen:
                break
            taken += 1
            report.batches += 1
            report.erased[kind] += chosen
            if chosen < batches.size:
                break
        else:
            report.unfinished = True
    return report


def due(database: Database, periods: Periods, now: datetime | None = None) -> Report:
    """What a run would erase now, counted and left in place (persons: those of whom nothing
    is left already; a run also erases those whose last data it erases itself)."""
    cut = periods.cut_offs(now or datetime.now(UTC))
    report = Report()
    with database.transaction(read_only=True) as session:
        report.erased = {
            Kind.RELEASES: repository.count_releases_due(session, cut.flows, cut.unknown_flow),
            Kind.MESSAGES: repository.count_messages_due(session, cut.messages),
            Kind.CONSENTS: repository.count_consents_due(session, cut.evidence),
            Kind.EMERGENCY: repository.count_windows_due(session, cut.emergency, cut.now),
            Kind.PERSONS: repository.count_persons_due(session),
            Kind.SESSIONS: repository.count_sessions_due(
                session, cut.session_idle, cut.session_max
            ),
            Kind.SIGN_IN_FAILURES: repository.count_throttles_due(
                session, cut.sign_in_failures, cut.now
            ),
        }
    return report


# -- the steps ---------------------------------------------------------------------------------


def _releases(session: Session, cut: CutOffs, limit: int) -> tuple[int, Mapping[str, int]]:
    rows = repository.releases_due(session, cut.flows, cut.unknown_flow, limit)
    if not rows:
        return 0, {}
    erased = repository.erase_releases(session, [(row[0], row[1]) for row in rows])
    return len(rows), {"rows": erased, "persons": len({row[2] for row in rows})}


def _messages(session: Session, cut: CutOffs, limit: int) -> tuple[int, Mapping[str, int]]:
    rows = repository.messages_due(session, cut.messages, limit)
    if not rows:
        return 0, {}
    erased = repository.erase_messages(session, [row[0] for row in rows])
    return len(rows), {"rows": erased, "persons": len({row[1] for row in rows})}


def _consents(session: Session, cut: CutOffs, limit: int) -> tuple[int, Mapping[str, str | int]]:
    rows = repository.consents_due(session, cut.evidence, limit)
    if not rows:
        return 0, {}
    ids = sorted(row[0] for row in rows)
    erased = repository.erase_consents(session, ids)
    return len(rows), {
        **erased,
        "persons": len({row[1] for row in rows}),
        "consent_ids": " ".join(ids),
    }


def _emergency(session: Session, cut: CutOffs, limit: int) -> tuple[int, Mapping[str, int]]:
    rows = repository.windows_due(session, cut.emergency, cut.now, limit)
    if not rows:
        return 0, {}
    erased = repository.erase_windows(session, [row[0] for row in rows])
    return len(rows), {**erased, "persons": len({row[1] for row in rows})}


def _persons(audit: AuditLog) -> Step:
    def step(session: Session, _cut: CutOffs, limit: int) -> tuple[int, Mapping[str, str | int]]:
        ids = repository.persons_due(session, limit)
        if not ids:
            return 0, {}
        erased = repository.erase_persons(session, ids)
        # The pseudonyms the log has named them by: after this, nothing links them to anyone.
        pseudonyms = sorted(audit.pseudonymizer.pseudonym(subject_id) for subject_id in ids)
        return len(ids), {**erased, "subjects": " ".join(pseudonyms)}

    return step


def _sessions(session: Session, cut: CutOffs, limit: int) -> tuple[int, None]:
    hashes = repository.sessions_due(session, cut.session_idle, cut.session_max, limit)
    if hashes:
        repository.erase_sessions(session, hashes)
    return len(hashes), None


def _throttles(session: Session, cut: CutOffs, limit: int) -> tuple[int, None]:
    keys = repository.throttles_due(session, cut.sign_in_failures, cut.now, limit)
    if keys:
        repository.erase_throttles(session, keys)
    return len(keys), None


def _steps(audit: AuditLog) -> tuple[tuple[Kind, Step], ...]:
    return (
        (Kind.RELEASES, _releases),
        (Kind.MESSAGES, _messages),
        (Kind.CONSENTS, _consents),
        (Kind.EMERGENCY, _emergency),
        (Kind.PERSONS, _persons(audit)),
        (Kind.SESSIONS, _sessions),
        (Kind.SIGN_IN_FAILURES, _throttles),
    )
