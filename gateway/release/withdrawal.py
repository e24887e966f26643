"""What a withdrawal sets off, in the withdrawal's own transaction: the pending messages that
lose their ground are withheld (their payloads purged), and each agency that received data
under the withdrawn grants gets a notice naming the exchanges and messages affected.

The notices are made from the release ledger alone: whatever reached an agency under the
consent is there, whatever became of the exchange or message since (a message fetched and
then acknowledged or expired included). Releases that commit after the withdrawal cannot
happen under it: the release transaction takes the consents' locks and decides again
(``gateway.release.core``)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.audit.service import AuditLog
from gateway.consents.effects import Withdrawal
from gateway.consents.notices_tables import WithdrawalNotice
from gateway.messages import lifecycle
from gateway.messages import repository as messages
from gateway.messages.tables import State
from gateway.release import ledger
from gateway.release.tables import Kind


@dataclass(frozen=True)
class Effects:
    """The gateway's ``WithdrawalEffects`` (``gateway.consents.effects``)."""

    audit: AuditLog

    def __call__(self, session: Session, withdrawal: Withdrawal) -> None:
        withhold(session, self.audit, withdrawal)
        notify(session, withdrawal)


def withhold(session: Session, audit: AuditLog, withdrawal: Withdrawal) -> None:
    """Withhold the pending messages sent under the consent whose flow the withdrawal took
    away: their payloads are deleted, each end audited."""
    change = withdrawal.change
    for message in messages.pending_under_consent(session, withdrawal.consent_id):
        if change.affects(message.sender, message.recipient, message.category, message.purpose):
            lifecycle.close(
                session,
                audit,
                message,
                State.WITHHELD,
                withdrawal.at,
                reason=lifecycle.WITHDRAWN,
                actor=withdrawal.actor,
                by=withdrawal.by,
            )
    session.flush()


def notify(session: Session, withdrawal: Withdrawal) -> list[WithdrawalNotice]:
    """One notice per agency that received data whose ground the withdrawal took away: the
    exchanges whose answers and the messages it was handed under the withdrawn grants."""
    exchanges: dict[str, list[str]] = defaultdict(list)
    fetched: dict[str, list[str]] = defaultdict(list)
    for row in ledger.received_under(session, withdrawal.consent_id):
        if not withdrawal.change.affects(row.provider, row.recipient, row.category, row.purpose):
            continue
        ids, item = (exchanges, row.id) if row.kind == Kind.QUERY else (fetched, row.message_id)
        if item not in ids[row.recipient]:
            ids[row.recipient].append(item)
    notices = [
        WithdrawalNotice(
            id=str(uuid.uuid4()),
            recipient=recipient,
            consent_id=withdrawal.consent_id,
            consent_version=withdrawal.version,
            created_at=withdrawal.at,
            exchanges=exchanges.get(recipient, []),
            messages=fetched.get(recipient, []),
        )
        for recipient in sorted(set(exchanges) | set(fetched))
    ]
    session.add_all(notices)
    session.flush()
    return notices
