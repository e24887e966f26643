"""One person's access report (Art. 15 GDPR): every decision and change the log records about
them, found through their keyed pseudonym. The API (``GET /v1/audit/access-report``) and the
DPO pages ask for the same report here, and every look is itself recorded under the person's
pseudonym, so the person's next report shows that a DPO looked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, EventType
from gateway.audit.models import AccessRecord, AccessReport
from gateway.audit.query import about_subject
from gateway.audit.service import AuditLog
from gateway.db.engine import Database
from gateway.emergency.disclosure import Deferred, deferred
from gateway.errors import GatewayError, ProblemType, problem_type
from gateway.subjects.repository import subject_of

UNKNOWN_SUBJECT = problem_type(
    "unknown-subject",
    "Unknown subject",
    404,
    "The gateway knows no person under this agency's reference.",
)

# What a record shows of an entry: agencies, never another agency's reference.
_REPORTED = (
    "requester", "provider", "caseworker", "purpose", "legal_basis", "decision", "reason",
    "consent_id", "details",
)  # fmt: skip


class UnknownSubject(GatewayError):
    kind: ClassVar[ProblemType] = UNKNOWN_SUBJECT


def access_report(
    database: Database,
    audit: AuditLog,
    *,
    actor: str,
    agency: str,
    reference: str,
    request_id: str | None,
    now: datetime | None = None,
    download: str | None = None,
) -> AccessReport:
    """Every entry about the person ``agency`` knows by ``reference``, oldest first; the look
    is recorded (by ``actor``; with the file format if the report is a ``download``) before
    the report is returned. UnknownSubject if the gateway knows nobody by that reference (and
    then nothing is recorded).

    The entries are read in a read-only transaction and the look recorded in a short one
    after: a writing transaction around the read would hold SQLite's one write lock, and so
    every exchange, for as long as a long report takes. A failed recording fails the report:
    it is not shown unrecorded."""
    with database.transaction(read_only=True) as session:
        subject = subject_of(session, agency, reference)
        if subject is None:
            raise UnknownSubject()
        held_back = deferred(session, subject, now or datetime.now(UTC))
        records = _records(session, audit.pseudonymizer.pseudonym(subject), held_back)
    with database.transaction() as session:
        audit.record(
            session,
            AuditEvent(
                EventType.DPO_ACCESS_REPORT,
                actor=actor,
                subject_id=subject,
                request_id=request_id,
                details=_looked(agency, len(records), download),
            ),
            now=now,
        )
    return AccessReport(agency=agency, records=records)


def _looked(agency: str, records: int, download: str | None) -> dict[str, str | int]:
    details: dict[str, str | int] = {"agency": agency, "records": records}
    if download is not None:
        details["format"] = download
    return details


def _records(session: Session, pseudonym: str, held_back: Deferred) -> list[AccessRecord]:
    return [
        AccessRecord(
            time=view.recorded_at,
            event=view.event,
            **{name: view.body.get(name) for name in _REPORTED},
            categories=view.body.get("categories", []),
            deferred=held_back.hides(view.body),
        )
        for view in about_subject(session, pseudonym)
        if view.body is not None  # pruned: nothing left to report
    ]
