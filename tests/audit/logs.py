"""Logs for the audit tests: permitted exchange decisions about a few persons, placed and
signed."""

from __future__ import annotations

from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.runtime import Runtime


def record_decisions(runtime: Runtime, count: int, tag: str = "req") -> None:
    """``count`` decisions (request ids ``<tag>-<n>``) in one transaction, then placed in the
    tree under a new checkpoint."""
    with runtime.database.transaction() as session:
        for number in range(count):
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
            )
    runtime.audit.publish(runtime.database)
