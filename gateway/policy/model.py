"""The policy model: flows between agency kinds, and the questions the gateway asks of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

ANY_KIND = "any"


@dataclass(frozen=True)
class LegalBasis:
    """``consent``, or a statute named by its citation (e.g. "§ 71 Abs. 2 SGB X")."""

    statute: str | None = None

    @property
    def is_consent(self) -> bool:
        return self.statute is None

    def __str__(self) -> str:
        return "consent" if self.statute is None else f"statute: {self.statute}"


@dataclass(frozen=True)
class Confided:
    """Data a person confided to the youth welfare office for personal and educational help
    (§ 65 SGB VIII): it passes only with that person's consent, so only a consent with a
    ``confiding_person`` among its givers covers it. ``citation`` names the rule as the policy
    does; ``categories`` are the flow's categories the mark covers."""

    citation: str
    categories: frozenset[str]


@dataclass(frozen=True)
class Emergency:
    """A flow for emergency access in child protection (§ 8a SGB VIII): it decides only
    emergency queries, each justified with one of ``reasons`` and opening a window of at most
    ``max_window_hours`` for that person and recipient, and each reviewed by a DPO afterwards.
    It never decides an ordinary query, message or consent grant, and never rests on consent."""

    reasons: frozenset[str]
    max_window_hours: int


@dataclass(frozen=True)
class Flow:
    policy_id: str
    id: str
    provider_kind: str
    recipient_kind: str
    fields: Mapping[str, tuple[str, ...]]  # category -> fields released
    purposes: frozenset[str]
    legal_basis: LegalBasis
    retention_days: int
    cross_municipality: bool = False
    confided: Confided | None = None
    emergency: Emergency | None = None

    @property
    def name(self) -> str:
        """How the ledger, the audit and the messages name the flow: ``<policy id>/<flow id>``."""
        return f"{self.policy_id}/{self.id}"

    def covers(self, provider_kind: str, recipient_kind: str, category: str, purpose: str) -> bool:
        return (
            self.provider_kind in (provider_kind, ANY_KIND)
            and self.recipient_kind in (recipient_kind, ANY_KIND)
            and category in self.fields
            and purpose in self.purposes
        )

    def confided_in(self, category: str) -> Confided | None:
        """The mark of confided data on this category of the flow, if it has one."""
        if self.confided is not None and category in self.confided.categories:
            return self.confided
        return None


@dataclass(frozen=True)
class PolicySet:
    # Every flow, emergency flows included: listings, records of processing and retention
    # periods name them all. Decisions ask ``ordinary`` or ``emergencies`` (through the
    # methods below), never ``flows``.
    flows: tuple[Flow, ...]
    digest: str  # SHA-256 over the canonical form of every file, so DPOs can compare sets
    files: tuple[str, ...]

    @cached_property  # asked on every decision; a frozen dataclass's __dict__ still takes it
    def ordinary(self) -> tuple[Flow, ...]:
        """The flows that decide ordinary queries, messages and consent grants."""
        return tuple(flow for flow in self.flows if flow.emergency is None)

    @cached_property
    def emergency_reasons(self) -> frozenset[str]:
        """Every reason code some emergency flow lists."""
        return frozenset(
            reason
            for flow in self.emergencies
            if flow.emergency
            for reason in flow.emergency.reasons
        )

    @cached_property
    def emergencies(self) -> tuple[Flow, ...]:
        """The flows that decide emergency queries only."""
        return tuple(flow for flow in self.flows if flow.emergency is not None)

    def flows_for(
        self,
        provider_kind: str,
        recipient_kind: str,
        category: str,
        purpose: str,
        *,
        same_municipality: bool,
    ) -> list[Flow]:
        """Every ordinary flow that lets this kind give this category to that kind for this
        purpose. Emergency flows are left out: they must never decide an ordinary request."""
        return _covering(
            self.ordinary,
            provider_kind,
            recipient_kind,
            category,
            purpose,
            same_municipality=same_municipality,
        )

    def flow_for(
        self,
        provider_kind: str,
        recipient_kind: str,
        category: str,
        purpose: str,
        *,
        same_municipality: bool,
    ) -> Flow | None:
        """The ordinary flow that decides this, if any: the loader refuses overlapping flows,
        so there is one at most, whatever the order of the files."""
        return _one(
            self.flows_for(
                provider_kind,
                recipient_kind,
                category,
                purpose,
                same_municipality=same_municipality,
            )
        )

    def consent_flow(
        self,
        provider_kind: str,
        recipient_kind: str,
        category: str,
        purpose: str,
        *,
        same_municipality: bool,
    ) -> Flow | None:
        """The consent-based flow a grant for this would rest on, if any."""
        flow = self.flow_for(
            provider_kind, recipient_kind, category, purpose, same_municipality=same_municipality
        )
        return flow if flow is not None and flow.legal_basis.is_consent else None

    def emergency_flow_for(
        self,
        provider_kind: str,
        recipient_kind: str,
        category: str,
        purpose: str,
        *,
        same_municipality: bool,
    ) -> Flow | None:
        """The emergency flow that decides an emergency query for this, if any; ordinary flows
        are left out (an emergency query rests on the statute, not on a consent or an ordinary
        flow). The loader refuses overlapping emergency flows, so there is one at most."""
        return _one(
            _covering(
                self.emergencies,
                provider_kind,
                recipient_kind,
                category,
                purpose,
                same_municipality=same_municipality,
            )
        )


def _covering(
    flows: tuple[Flow, ...],
    provider_kind: str,
    recipient_kind: str,
    category: str,
    purpose: str,
    *,
    same_municipality: bool,
) -> list[Flow]:
    return [
        flow
        for flow in flows
        if flow.covers(provider_kind, recipient_kind, category, purpose)
        and (same_municipality or flow.cross_municipality)
    ]


def _one(flows: list[Flow]) -> Flow | None:
    if len(flows) > 1:
        raise ValueError("overlapping flows: the policy set was not loaded by load_policies")
    return flows[0] if flows else None
