"""The emergency decision on its own (``gateway.emergency.access.decide``), for what the
reference policy cannot show: flows of different maximum windows, where a window opened under
the longer one no longer allows the shorter one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gateway.emergency import access
from gateway.emergency.access import EmergencyAsk, Justification, Limits
from gateway.emergency.tables import EmergencyWindow
from gateway.messages.sealing import Sealed
from gateway.policy.model import Emergency, PolicySet
from gateway.release.decision import Deny, Reason
from gateway.runtime import Runtime

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ASK = EmergencyAsk(
    Justification("acute_child_endangerment", b"{}", Sealed("k", b"", b"", b"")),
    Limits(window_hours=72, daily_limit=10, review_days=7),
)


def shortened(policies: PolicySet, flow_id: str, hours: int) -> PolicySet:
    """The reference set with one emergency flow's maximum window shortened."""
    flows = tuple(
        replace(flow, emergency=Emergency(flow.emergency.reasons, hours))
        if flow.id == flow_id and flow.emergency
        else flow
        for flow in policies.flows
    )
    return PolicySet(flows, policies.digest, policies.files)


def decide(runtime: Runtime, policies: PolicySet, provider_kind: str, category: str, at: datetime):
    with runtime.database.transaction(read_only=True) as session:
        return access.decide(
            session, policies, ASK, provider_kind=provider_kind,
            recipient_kind="youth_welfare_office", same_municipality=True,
            recipient="koeln-jugendamt", subject_id="s-1", categories=(category,),
            purpose="child_and_youth_welfare", at=at,
        )  # fmt: skip


def test_a_window_open_past_a_flows_own_maximum_refuses_that_flow(runtime: Runtime):
    policies = shortened(runtime.policies, "jobcenter-to-jugendamt-emergency", 24)
    with runtime.database.transaction() as session:
        session.add(EmergencyWindow(
            id="w-1", subject_id="s-1", recipient="koeln-jugendamt",
            reason="acute_child_endangerment", opened_at=NOW, closes_at=NOW + timedelta(hours=72),
            review_due_at=NOW + timedelta(days=7),
        ))  # fmt: skip
    later = NOW + timedelta(hours=30)

    assert decide(runtime, policies, "job_centre", "benefit_status", later) == Deny(
        Reason.EMERGENCY_WINDOW_CLOSED
    )
    permitted = decide(runtime, policies, "foreigners_office", "residence_status", later)
    assert set(permitted) == {"residence_status"}
    # Before the shorter maximum has passed, the shorter flow is allowed in the window too.
    early = decide(runtime, policies, "job_centre", "benefit_status", NOW + timedelta(hours=1))
    assert set(early) == {"benefit_status"}
