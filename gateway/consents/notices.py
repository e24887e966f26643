"""Withdrawal notices as their recipients see them: each agency that received data under a
withdrawn consent or grant is told which exchanges and messages are affected (the notices are
made by the withdrawal's effects, ``gateway.release.withdrawal``), and answers whether it
deleted or retained the data (and why)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.auth.dependencies import Principal
from gateway.consents import repository
from gateway.consents.errors import NoticeAnswered, NoticeNotFound
from gateway.consents.notices_tables import WithdrawalNotice
from gateway.consents.versions import is_uuid
from gateway.errors import InvalidRequest


def open_notices(
    session: Session, principal: Principal, include_answered: bool
) -> Sequence[WithdrawalNotice]:
    return repository.notices_for(session, principal.client_id, include_answered)


def acknowledge(
    session: Session,
    audit: AuditLog,
    principal: Principal,
    notice_id: str,
    outcome: str,
    legal_reason: str | None,
    now: datetime,
) -> WithdrawalNotice:
    if outcome == "retained" and not legal_reason:
        raise InvalidRequest(
            errors=[{"path": "/body/legal_reason", "message": "say on what legal ground"}]
        )
    notice = repository.notice(session, notice_id) if is_uuid(notice_id) else None
    if notice is None or notice.recipient != principal.client_id:
        raise NoticeNotFound()
    if notice.acknowledged_at is not None:
        if (notice.outcome, notice.legal_reason) != (outcome, legal_reason):
            raise NoticeAnswered()
        return notice  # the same answer again: idempotent
    notice.acknowledged_at, notice.outcome, notice.legal_reason = now, outcome, legal_reason
    audit.record(
        session,
        AuditEvent(
            EventType.NOTICE_ACKNOWLEDGED,
            actor=principal.client_id,
            requester=principal.client_id,
            consent_id=notice.consent_id,
            consent_version=notice.consent_version,
            details={"notice": notice.id, "outcome": outcome, "exchanges": len(notice.exchanges)},
        ),
        now=now,
    )
    session.flush()
    return notice
