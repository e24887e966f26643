"""Rows as the gateway writes them, dated at will: persons, consents and their evidence, ledger
rows, messages, notices, page sessions. Straight into the tables, so a test can place each
row just before or just after its period's end."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.consents.notices_tables import WithdrawalNotice
from gateway.consents.tables import (
    ConsentParty,
    ConsentPermission,
    ConsentRecord,
    ConsentVersion,
    PortalCode,
)
from gateway.db.metadata import metadata
from gateway.emergency.tables import EmergencyUse, EmergencyWindow
from gateway.messages.tables import Message
from gateway.rectifications.tables import Rectification
from gateway.release.tables import Kind, Release
from gateway.subjects.tables import Subject, SubjectReference
from gateway.web.tables import LoginFailures, WebSession

ABH, JC, JA, SA = (
    "koeln-auslaenderbehoerde",
    "koeln-jobcenter",
    "koeln-jugendamt",
    "koeln-sozialamt",
)
RESIDENCE_FLOW = "reference/abh-to-jobcenter-residence"  # 180 days
CONTACTS_FLOW = "reference/case-contacts-and-conferences"  # 90 days
LONGEST_FLOW_DAYS = 365  # reference/jobcenter-to-abh-integration


def new_id() -> str:
    return str(uuid.uuid4())


def person(session: Session, references: dict[str, str], at: datetime) -> str:
    subject_id = new_id()
    session.add(Subject(id=subject_id, created_at=at))
    session.flush()
    for agency, reference in references.items():
        session.add(SubjectReference(agency_id=agency, reference=reference, subject_id=subject_id))
    session.flush()
    return subject_id


def consent(
    session: Session,
    subject_id: str,
    *,
    recorded_at: datetime,
    valid_until: datetime,
    withdrawn_at: datetime | None = None,
    code: bool = True,
) -> str:
    """A consent of one version letting the foreigners' office tell the job centre the
    residence status, recorded by the job centre (with a portal code)."""
    consent_id = new_id()
    session.add(
        ConsentRecord(
            id=consent_id,
            subject_id=subject_id,
            recorded_by=JC,
            created_at=recorded_at,
            current_version=1,
        )
    )
    session.flush()
    session.add(
        ConsentVersion(
            consent_id=consent_id,
            version=1,
            status="withdrawn" if withdrawn_at else "active",
            valid_from=recorded_at,
            valid_until=valid_until,
            grants=[
                {
                    "from": ABH,
                    "to": JC,
                    "categories": ["residence_status"],
                    "purposes": ["case_management"],
                }
            ],
            given_by=[{"role": "data_subject"}],
            notice={
                "form_id": "cross-agency-case-management",
                "form_version": "1",
                "language": "de",
            },
            evidence={"channel": "paper_signed"},
            recorded_at=recorded_at,
            recorded_by=JC,
            caseworker="cw-17",
            ended_at=withdrawn_at,
            ended_by=JC if withdrawn_at else None,
            withdrawal_channel="in_person" if withdrawn_at else None,
            receipt=f"receipt-of-{consent_id}",
        )
    )
    session.flush()
    session.add(
        ConsentPermission(
            consent_id=consent_id,
            version=1,
            provider=ABH,
            recipient=JC,
            category="residence_status",
            purpose="case_management",
            subject_id=subject_id,
        )
    )
    session.add_all([ConsentParty(consent_id=consent_id, agency_id=a) for a in (ABH, JC)])
    session.flush()
    if code:
        # One live code per person: a new one ends those before it, as the gateway does.
        session.execute(
            update(PortalCode)
            .where(PortalCode.subject_id == subject_id, PortalCode.ended_at.is_(None))
            .values(ended_at=recorded_at)
        )
        session.add(
            PortalCode(
                id=new_id(),
                subject_id=subject_id,
                consent_id=consent_id,
                issued_by=JC,
                issued_at=recorded_at,
                code_hash=uuid.uuid4().hex + uuid.uuid4().hex,
                ended_at=withdrawn_at,
            )
        )
        session.flush()
    return consent_id


def notice(
    session: Session, consent_id: str, at: datetime, acknowledged_at: datetime | None
) -> str:
    notice_id = new_id()
    session.add(
        WithdrawalNotice(
            id=notice_id,
            recipient=JC,
            consent_id=consent_id,
            consent_version=1,
            created_at=at,
            exchanges=[new_id()],
            messages=[],
            acknowledged_at=acknowledged_at,
            outcome="deleted" if acknowledged_at else None,
            legal_reason=None,
        )
    )
    session.flush()
    return notice_id


def release(
    session: Session,
    subject_id: str,
    released_at: datetime,
    *,
    flow: str | None = RESIDENCE_FLOW,
    consent_id: str | None = None,
) -> str:
    release_id = new_id()
    session.execute(
        Release.__table__.insert(),  # type: ignore[attr-defined]
        [
            {
                "id": release_id,
                "category": "residence_status",
                "kind": Kind.QUERY.value,
                "message_id": None,
                "provider": ABH,
                "recipient": JC,
                "subject_id": subject_id,
                "purpose": "case_management",
                "policy_flow": flow,
                "consent_id": consent_id,
                "consent_version": 1 if consent_id else None,
                "released_at": released_at,
            }
        ],
    )
    return release_id


def message(
    session: Session,
    subject_id: str,
    created_at: datetime,
    *,
    closed_at: datetime | None,
    consent_id: str | None = None,
) -> str:
    message_id = new_id()
    session.add(
        Message(
            id=message_id,
            sender=JC,
            recipient=JA,
            subject_id=subject_id,
            category="case_conference",
            purpose="case_management",
            legal_basis="consent",
            policy_flow=CONTACTS_FLOW,
            consent_id=consent_id,
            consent_version=1 if consent_id else None,
            state="acknowledged" if closed_at else "pending",
            created_at=created_at,
            expires_at=created_at + timedelta(days=30),
            closed_at=closed_at,
        )
    )
    session.flush()
    return message_id


def page_session(session: Session, created_at: datetime, last_seen_at: datetime) -> str:
    token_hash = uuid.uuid4().hex + uuid.uuid4().hex
    session.add(
        WebSession(
            token_hash=token_hash,
            realm="dpo",
            principal="anna.schmidt",
            csrf_token="x" * 40,
            created_at=created_at,
            last_seen_at=last_seen_at,
        )
    )
    session.flush()
    return token_hash


def sign_in_failures(
    session: Session, first_at: datetime, locked_until: datetime | None = None
) -> str:
    key = uuid.uuid4().hex
    session.add(LoginFailures(key=key, failures=3, first_at=first_at, locked_until=locked_until))
    session.flush()
    return key


def rectification(
    session: Session,
    who: str,
    at: datetime,
    *,
    consent_id: str | None = None,
    answered_at: datetime | None = None,
) -> str:
    """A person's flag that what the foreigners' office passed on is wrong (its text sealed)."""
    rectification_id = new_id()
    session.add(
        Rectification(
            id=rectification_id,
            subject_id=who,
            provider=ABH,
            recipient=JC,
            category="residence_status",
            release_id=new_id(),
            released_at=at,
            consent_id=consent_id,
            flagged_at=at,
            key_id="kek-20250101T000000-00000000",
            wrapped_key=b"w" * 40,
            nonce=b"n" * 12,
            ciphertext=b"sealed",
            answered_at=answered_at,
        )
    )
    session.flush()
    return rectification_id


def emergency(
    session: Session,
    who: str,
    closes_at: datetime,
    *,
    reviewed_at: datetime | None = None,
    deferred_until: datetime | None = None,
) -> str:
    """A record of emergency access: the youth welfare office asked about the person, with
    one use whose justification is sealed."""
    window_id = new_id()
    opened = closes_at - timedelta(hours=72)
    session.add(
        EmergencyWindow(
            id=window_id,
            subject_id=who,
            recipient=JA,
            reason="acute_child_endangerment",
            opened_at=opened,
            closes_at=closes_at,
            review_due_at=opened + timedelta(days=7),
            reviewed_at=reviewed_at,
            reviewed_by="dpo" if reviewed_at else None,
            verdict="justified" if reviewed_at else None,
            review_comment="reviewed" if reviewed_at else None,
            deferred_until=deferred_until,
        )
    )
    session.add(
        EmergencyUse(
            id=new_id(),
            window_id=window_id,
            subject_id=who,
            recipient=JA,
            provider=ABH,
            categories="residence_status",
            purpose="child_and_youth_welfare",
            reason="acute_child_endangerment",
            used_at=opened,
            key_id="kek-20250101T000000-00000000",
            wrapped_key=b"w" * 40,
            nonce=b"n" * 12,
            ciphertext=b"sealed",
        )
    )
    session.flush()
    return window_id


def counts(session: Session) -> dict[str, int]:
    """Rows in every table but the audit log's."""
    return {
        table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
        for table in metadata.sorted_tables
        if not table.name.startswith("audit_")
    }


def exists(session: Session, table: Any, **where: Any) -> bool:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(getattr(table, column) == value)
    return bool(session.scalar(query))
