"""Logs for the audit tests: permitted exchange decisions about a few persons, placed and
signed."""

from __future__ import annotations

from datetime import datetime

from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.runtime import Runtime


def record_decisions(
    runtime: Runtime, numbers: int | range, tag: str = "req", now: datetime | None = None
) -> None:
    """Decisions numbered ``numbers`` (a count from 0, or a range; request ids ``<tag>-<n>``),
    recorded at ``now`` (default: the time of the call) in one transaction, then placed in the
    tree under a new checkpoint."""
    with runtime.database.transaction() as session:
        for number in range(numbers) if isinstance(numbers, int) else numbers:
            runtime.audit.record(
                session,
                AuditEvent(
                    EventType.EXCHANGE_DECIDED,
                    requester="koeln-jobcenter",
                    provider="koeln-sozialamt",
                    categories=("benefit_status",),
                    purpose="benefit_entitlement",
                    decision=Decision.PERMIT,
                    subject_id=f"person-{number % 7}",
                    request_id=f"{tag}-{number:08d}",
                ),
                now=now,
            )
    runtime.audit.publish(runtime.database)
