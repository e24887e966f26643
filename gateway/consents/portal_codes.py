"""Portal codes: the person's way into the portal, printed on the receipt the agency that
recorded the consent hands over.

A code opens everything about the person, so who gets one and how long it works is what keeps
an agency from acting as the person: only the agency that recorded a consent issues its code
(again, when one was lost); every issue is audited (who, with which consent; never the code); a
person has one live code at most, a new one ending those before it (and the portal sessions
they opened); and a code works only while the consent it was issued with is active or still kept as
proof (``consent_evidence_days`` after it ended); a consent no longer active gives no new
code. Each portal session names its code's
issue, and so do the audit entries of what is done in it, so a DPO can tell who acted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.consents import repository
from gateway.consents.receipts import new_portal_code, portal_code_hash
from gateway.consents.tables import ConsentRecord, PortalCode


@dataclass(frozen=True)
class Issuer:
    """Who issues a code: the agency that recorded the consent, and who acted for it."""

    agency: str
    caseworker: str | None = None
    request_id: str | None = None
    trace_id: str | None = None


@dataclass(frozen=True)
class LiveCode:
    """A code that lets its holder in now: its issue, and whose it is."""

    issue_id: str
    subject_id: str
    issued_by: str
    issued_at: datetime

    @property
    def details(self) -> dict[str, str]:
        """What an audit entry of an action in its session says of the code: its issue, and
        the agency that gave it (so the entry alone tells whose code acted)."""
        return {"portal_code": self.issue_id, "code_issued_by": self.issued_by}


def issue(
    session: Session,
    audit: AuditLog,
    consent: ConsentRecord,
    by: Issuer,
    now: datetime,
    *,
    reissue: bool,
) -> str:
    """A new code for the consent's person, ending the codes issued before it; the code
    itself is returned once and kept only as a hash."""
    code, code_hash = new_portal_code()
    # Two issues for one person at once would each end only the codes the other had not yet
    # written: the person's row serialises them (and a unique index holds one live code).
    repository.lock_subject(session, consent.subject_id)
    ended = repository.end_portal_codes(session, consent.subject_id, now)
    issue_id = str(uuid.uuid4())
    repository.add_portal_code(
        session,
        PortalCode(
            id=issue_id,
            subject_id=consent.subject_id,
            consent_id=consent.id,
            issued_by=by.agency,
            issued_at=now,
            code_hash=code_hash,
        ),
    )
    audit.record(
        session,
        AuditEvent(
            EventType.PORTAL_CODE_ISSUED,
            actor=by.agency,
            requester=by.agency,
            caseworker=by.caseworker,
            subject_id=consent.subject_id,
            consent_id=consent.id,
            request_id=by.request_id,
            trace_id=by.trace_id,
            details={"issue": issue_id, "reissue": reissue, "codes_ended": ended},
        ),
        now=now,
    )
    return code


def live_by_code(session: Session, code: str, now: datetime, evidence_days: int) -> LiveCode | None:
    """The live code the person typed (as normalised by the sign-in), if it is one."""
    found = repository.portal_code_by_hash(session, portal_code_hash(code))
    return _if_live(session, found, now, evidence_days)


def live_by_issue(
    session: Session, issue_id: str, now: datetime, evidence_days: int
) -> LiveCode | None:
    """The code a portal session was opened with, if it still lets its holder in."""
    return _if_live(session, repository.portal_code(session, issue_id), now, evidence_days)


def _if_live(
    session: Session, code: PortalCode | None, now: datetime, evidence_days: int
) -> LiveCode | None:
    """The code, if it is the person's live one and the consent it was issued with is active
    or still kept as proof: another agency's consent keeps no code of this one alive."""
    if code is None or code.ended_at is not None:
        return None
    kept_since = now - timedelta(days=evidence_days)
    if not repository.consent_kept_since(session, code.consent_id, kept_since):
        return None
    return LiveCode(code.id, code.subject_id, code.issued_by, code.issued_at)
