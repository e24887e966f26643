"""What the DPO answers for and about people: one person's access report (Art. 15 GDPR), the
withdrawal notices agencies have not answered yet, and the records of processing activities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.audit import reports
from gateway.audit.events import AuditEvent, EventType
from gateway.audit.models import AccessReport
from gateway.audit.service import AuditLog
from gateway.dpo import repository
from gateway.subjects.repository import subject_of

REFERENCE_MAX = 128


@dataclass(frozen=True)
class OpenNotice:
    recipient: str
    consent_id: str
    consent_version: int
    created_at: datetime
    age_days: int
    exchanges: int
    messages: int


def agencies(session: Session) -> list[str]:
    return repository.agency_ids(session)


def access_report(
    session: Session,
    audit: AuditLog,
    *,
    dpo_id: str,
    agency: str,
    reference: str,
    request_id: str | None,
    now: datetime,
) -> AccessReport | None:
    """Every decision about the person the agency knows by ``reference``; None if the gateway
    knows nobody by it. Looking is recorded (under the person's pseudonym), so the person's
    next report shows that the DPO looked."""
    subject = subject_of(session, agency, reference)
    if subject is None:
        return None
    report = reports.access_report(session, agency, reference, audit)
    audit.record(
        session,
        AuditEvent(
            EventType.DPO_ACCESS_REPORT,
            actor=dpo_id,
            subject_id=subject,
            request_id=request_id,
            details={"agency": agency, "records": len(report.records)},
        ),
        now=now,
    )
    return report


def outstanding_notices(session: Session, now: datetime) -> list[OpenNotice]:
    """Withdrawal notices not yet acknowledged, oldest first."""
    return [
        OpenNotice(
            recipient=notice.recipient,
            consent_id=notice.consent_id,
            consent_version=notice.consent_version,
            created_at=notice.created_at,
            age_days=(now - notice.created_at).days,
            exchanges=len(notice.exchanges),
            messages=len(notice.messages),
        )
        for notice in repository.outstanding_notices(session)
    ]
