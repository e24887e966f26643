"""Withdrawal notices: each agency that received data under a withdrawn consent or grant is told
which exchanges and messages are affected, and answers whether it deleted or retained the data
(and why)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.model import GrantChange
from gateway.audit.events import AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.auth.dependencies import Principal
from gateway.consents.notices_tables import WithdrawalNotice
from gateway.consents.versions import is_uuid
from gateway.errors import GatewayError, InvalidRequest, ProblemType, problem_type
from gateway.exchange.tables import Exchange, Release

NOTICE_NOT_FOUND = problem_type(
    "notice-not-found", "Notice not found", 404, "No withdrawal notice with this id for you."
)
NOTICE_ANSWERED = problem_type(
    "notice-answered",
    "Notice already answered",
    409,
    "This notice was acknowledged before with a different answer.",
)


class NoticeNotFound(GatewayError):
    kind: ClassVar[ProblemType] = NOTICE_NOT_FOUND


class NoticeAnswered(GatewayError):
    kind: ClassVar[ProblemType] = NOTICE_ANSWERED


def notify_recipients(
    session: Session,
    consent_id: str,
    version: int,
    change: GrantChange,
    messages: dict[str, list[str]],
    now: datetime,
) -> list[WithdrawalNotice]:
    """One notice per agency that received data whose ground the change took away: the
    exchanges affected, and the messages (``messages``: recipient -> ids) it had fetched."""
    affected: dict[str, list[str]] = defaultdict(list)
    rows = session.execute(
        select(
            Exchange.id, Exchange.provider, Exchange.requester, Exchange.purpose, Release.category
        )
        .join(Release, Release.exchange_id == Exchange.id)
        .where(Release.consent_id == consent_id)
        .order_by(Exchange.released_at)
    )
    for exchange_id, provider, recipient, purpose, category in rows:
        if change.affects(provider, recipient, category, purpose) and (
            exchange_id not in affected[recipient]
        ):
            affected[recipient].append(exchange_id)
    notices = [
        WithdrawalNotice(
            id=str(uuid.uuid4()),
            recipient=recipient,
            consent_id=consent_id,
            consent_version=version,
            created_at=now,
            exchanges=affected.get(recipient, []),
            messages=messages.get(recipient, []),
        )
        for recipient in sorted(set(affected) | set(messages))
    ]
    session.add_all(notices)
    session.flush()
    return notices


def open_notices(
    session: Session, principal: Principal, include_answered: bool
) -> list[WithdrawalNotice]:
    query = select(WithdrawalNotice).where(WithdrawalNotice.recipient == principal.client_id)
    if not include_answered:
        query = query.where(WithdrawalNotice.acknowledged_at.is_(None))
    return list(session.scalars(query.order_by(WithdrawalNotice.created_at)))


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
    notice = session.get(WithdrawalNotice, notice_id) if is_uuid(notice_id) else None
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
