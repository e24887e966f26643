"""What the DPO answers for and about people: one person's access report (Art. 15 GDPR), the
withdrawal notices agencies have not answered yet, and the records of processing activities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.audit import access
from gateway.audit.access import UnknownSubject
from gateway.audit.models import AccessReport
from gateway.audit.service import AuditLog
from gateway.db.engine import Database
from gateway.dpo import repository

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


@dataclass(frozen=True)
class ReportPage:
    agencies: list[str]  # the form's choices
    report: AccessReport | None  # None: the gateway knows nobody by the reference


def access_report(
    database: Database,
    audit: AuditLog,
    *,
    dpo_id: str,
    agency: str,
    reference: str,
    request_id: str | None,
    now: datetime,
) -> ReportPage:
    """The report the API gives too (``gateway.audit.access``), and the form's choices; no
    transaction is held across the report (it reads and records in its own)."""
    with database.transaction(read_only=True) as session:
        choices = repository.agency_ids(session)
    try:
        report: AccessReport | None = access.access_report(
            database,
            audit,
            actor=dpo_id,
            agency=agency,
            reference=reference,
            request_id=request_id,
            now=now,
        )
    except UnknownSubject:
        report = None  # said plainly on the page, as the API says it with a 404
    return ReportPage(choices, report)


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
