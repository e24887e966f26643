"""Synthetic histories, written at chosen times the way the features write them: consents are
recorded and withdrawn through the consent service, notices answered through the notice service,
and exchanges leave the same release rows and audit entries the exchange path leaves."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from consent.vocabulary import AgencyKind
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.auth.dependencies import Principal
from gateway.consents import notices, recording, service
from gateway.consents.models import ConsentIn, WithdrawIn
from gateway.consents.notices_tables import WithdrawalNotice
from gateway.consents.versions import Context
from gateway.runtime import Runtime
from gateway.subjects.repository import subject_of
from tests.support import Clients, add_release

ABH, JC, JA, SA = "koeln-abh", "koeln-jobcenter", "koeln-jugendamt", "koeln-sozialamt"
BONN_ABH, BONN_JC = "bonn-abh", "bonn-jobcenter"
AGENCIES = {
    ABH: (AgencyKind.FOREIGNERS_OFFICE, "koeln"),
    JC: (AgencyKind.JOB_CENTRE, "koeln"),
    JA: (AgencyKind.YOUTH_WELFARE_OFFICE, "koeln"),
    SA: (AgencyKind.SOCIAL_OFFICE, "koeln"),
    BONN_ABH: (AgencyKind.FOREIGNERS_OFFICE, "bonn"),
    BONN_JC: (AgencyKind.JOB_CENTRE, "bonn"),
}
# (from, to, category, purpose, policy flow): grants that rest on a reference policy flow.
RESIDENCE = (
    "residence_status",
    "labour_market_integration",
    "reference/abh-to-jobcenter-residence",
)
BENEFITS = ("benefit_status", "benefit_entitlement", "reference/jobcenter-to-sozialamt-benefits")
SUPPORT = ("youth_welfare_support", "case_management", "reference/jugendamt-to-jobcenter-support")
CASEWORKER = "cw-4711-secret"
FORM = {"form_id": "cross-agency-case-management", "form_version": "1", "language": "de"}


def at(day: str, hour: int = 10) -> datetime:
    """A moment on a day given as YYYY-MM-DD (UTC)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def reference(person: str, agency: str) -> str:
    return f"REF/{person}/{agency}"


@dataclass(frozen=True)
class Grant:
    provider: str
    recipient: str
    category: str
    purpose: str
    flow: str

    @classmethod
    def of(cls, provider: str, recipient: str, what: tuple[str, str, str]) -> Grant:
        return cls(provider, recipient, *what)

    def document(self) -> dict[str, Any]:
        return {
            "from": self.provider,
            "to": self.recipient,
            "categories": [self.category],
            "purposes": [self.purpose],
        }


@dataclass
class History:
    runtime: Runtime
    consents: dict[str, str] = field(default_factory=dict)  # person -> latest consent id
    subjects: dict[str, str] = field(default_factory=dict)  # person -> subject id

    @classmethod
    def of_agencies(cls, runtime: Runtime, clients: Clients) -> History:
        for agency_id, (kind, municipality) in AGENCIES.items():
            clients.agency(agency_id, kind, municipality=municipality)
        return cls(runtime)

    def consent(
        self,
        person: str,
        recorder: str,
        grants: list[Grant],
        when: datetime,
        lasts: timedelta = timedelta(days=365),
    ) -> str:
        agencies = {recorder} | {g.provider for g in grants} | {g.recipient for g in grants}
        body = ConsentIn.model_validate(
            {
                "subject": {
                    "references": {a: reference(person, a) for a in agencies},
                    "age_band": "adult",
                },
                "given_by": [{"role": "data_subject"}],
                "grants": [grant.document() for grant in grants],
                "valid_from": (when - timedelta(minutes=1)).isoformat(),
                "valid_until": (when + lasts).isoformat(),
                "notice": FORM,
                "evidence": {"channel": "paper_signed"},
            }
        )
        with self.runtime.database.transaction() as session:
            recorded = recording.record(session, self._context(recorder, when), body)
            self.subjects[person] = subject_of(session, recorder, reference(person, recorder))
        self.consents[person] = recorded.consent_id
        return recorded.consent_id

    def withdraw(
        self, person: str, agency: str, when: datetime, grants: list[Grant] | None = None
    ) -> None:
        body = WithdrawIn.model_validate(
            {
                "channel": "in_person",
                "grants": [grant.document() for grant in grants] if grants else None,
            }
        )
        with self.runtime.database.transaction() as session:
            service.withdraw(
                session,
                self._context(agency, when),
                self.consents[person],
                body,
                self.runtime.withdrawal_effects,
            )

    def exchange(self, person: str, grant: Grant, when: datetime) -> None:
        """A permitted query: the release ledger's rows and the permit's audit entry."""
        consent_id = self.consents[person]
        with self.runtime.database.transaction() as session:
            exchange_id = add_release(
                session,
                provider=grant.provider,
                recipient=grant.recipient,
                subject_id=self.subjects[person],
                category=grant.category,
                purpose=grant.purpose,
                released_at=when,
                consent_id=consent_id,
            )
            self.runtime.audit.record(
                session,
                self._decision(
                    grant,
                    Decision.PERMIT,
                    self.subjects[person],
                    exchange_id,
                    consent_id=consent_id,
                    payload=json.dumps({"about": person}).encode(),
                ),
                now=when,
            )

    def denial(self, person: str | None, grant: Grant, reason: str, when: datetime) -> None:
        subject = self.subjects[person] if person else None
        with self.runtime.database.transaction() as session:
            self.runtime.audit.record(
                session,
                self._decision(grant, Decision.DENY, subject, str(uuid.uuid4()), reason=reason),
                now=when,
            )

    def acknowledge(self, recipient: str, person: str, when: datetime) -> None:
        with self.runtime.database.transaction() as session:
            (notice,) = [
                n
                for n in notices.open_notices(session, self._principal(recipient), False)
                if n.consent_id == self.consents[person]
            ]
            notices.acknowledge(
                session,
                self.runtime.audit,
                self._principal(recipient),
                notice.id,
                "deleted",
                None,
                when,
            )

    def notices_of(self, recipient: str) -> list[WithdrawalNotice]:
        with self.runtime.database.transaction(read_only=True) as session:
            return notices.open_notices(session, self._principal(recipient), True)

    # -- the parts -----------------------------------------------------------------------------

    def _decision(
        self,
        grant: Grant,
        decision: Decision,
        subject: str | None,
        exchange_id: str,
        **more: Any,
    ) -> AuditEvent:
        permit = decision is Decision.PERMIT
        return AuditEvent(
            EventType.EXCHANGE_DECIDED,
            actor=grant.recipient,
            requester=grant.recipient,
            provider=grant.provider,
            caseworker=CASEWORKER,
            subject_id=subject,
            categories=(grant.category,),
            purpose=grant.purpose,
            decision=decision,
            legal_basis="consent" if permit else None,
            consent_version=1 if permit else None,
            policy_id=grant.flow if permit else None,
            details={"exchange_id": exchange_id},
            **more,
        )

    def _principal(self, agency: str) -> Principal:
        kind, municipality = AGENCIES[agency]
        return Principal(agency, "agency", frozenset(), kind.value, municipality)

    def _context(self, agency: str, when: datetime) -> Context:
        return Context(
            principal=self._principal(agency),
            audit=self.runtime.audit,
            keys=self.runtime.keys,
            policies=self.runtime.policies,
            max_validity_months=24,
            now=when,
            caseworker=CASEWORKER,
        )
