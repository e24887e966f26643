"""How long each kind of data is kept: the periods of the README's lifecycle table, from the
settings and the active policy set, and the cut-offs they give at one moment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.policy.model import PolicySet
from gateway.settings import Settings

# The fallback when the active policy set has no flow at all (nothing can be released then).
NO_FLOWS_FALLBACK_DAYS = 365


@dataclass(frozen=True)
class Periods:
    flows: Mapping[str, timedelta]  # "<policy id>/<flow id>" -> its retention
    unknown_flow: timedelta  # ledger rows of a flow the active set does not have
    messages: timedelta  # a closed message's metadata, after closing
    evidence: timedelta  # an ended consent's record and evidence, after its end
    emergency: timedelta  # a reviewed record of emergency access, after its window closed
    session_idle: timedelta
    session_max: timedelta
    sign_in_failures: timedelta

    @classmethod
    def of(cls, settings: Settings, policies: PolicySet) -> Periods:
        flows = {flow.name: timedelta(days=flow.retention_days) for flow in policies.flows}
        fallback = settings.release_retention_fallback_days or max(
            (flow.retention_days for flow in policies.flows), default=NO_FLOWS_FALLBACK_DAYS
        )
        return cls(
            flows=flows,
            unknown_flow=timedelta(days=fallback),
            messages=timedelta(days=settings.message_record_days),
            evidence=timedelta(days=settings.consent_evidence_days),
            emergency=timedelta(days=settings.emergency_record_days),
            session_idle=timedelta(minutes=settings.session_idle_minutes),
            session_max=timedelta(hours=settings.session_max_hours),
            sign_in_failures=timedelta(minutes=settings.login_lockout_minutes),
        )

    def cut_offs(self, now: datetime) -> CutOffs:
        return CutOffs(
            now=now,
            flows={name: now - period for name, period in self.flows.items()},
            unknown_flow=now - self.unknown_flow,
            messages=now - self.messages,
            evidence=now - self.evidence,
            emergency=now - self.emergency,
            session_idle=now - self.session_idle,
            session_max=now - self.session_max,
            sign_in_failures=now - self.sign_in_failures,
        )


@dataclass(frozen=True)
class CutOffs:
    """What was recorded, ended or closed before these moments is due."""

    now: datetime
    flows: Mapping[str, datetime]
    unknown_flow: datetime
    messages: datetime
    evidence: datetime
    emergency: datetime
    session_idle: datetime
    session_max: datetime
    sign_in_failures: datetime
