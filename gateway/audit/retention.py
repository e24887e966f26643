"""Retention: empty the bodies of old entries; their leaf hashes keep the tree verifiable."""

from __future__ import annotations

from datetime import datetime

from gateway.audit import repository
from gateway.audit.events import OPERATOR, AuditEvent, EventType
from gateway.audit.service import AuditLog, format_time
from gateway.db.engine import Database


def prune(audit: AuditLog, database: Database, before: datetime) -> int:
    """Prune entries recorded before ``before`` that a signed checkpoint already covers."""
    audit.publish(database)
    with database.transaction() as session:
        repository.lock_sequencer(session)
        latest = repository.latest_checkpoint(session)
        if latest is None:
            return 0
        count = repository.prune_before(session, before, latest.size)
        if count:
            audit.record(
                session,
                AuditEvent(
                    EventType.AUDIT_PRUNED,
                    actor=OPERATOR,
                    details={"entries": count, "recorded_before": format_time(before)},
                ),
            )
    return count
