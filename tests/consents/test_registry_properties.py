"""A state machine over the real registry (database included): record (for persons of every
age band, given by various persons), withdraw a grant, withdraw everything, let time pass.
A recording for a child under 15 without a guardian or custodian is refused and changes
nothing. After every step the check permits exactly what an active, unexpired grant covers,
and confided data only where the confiding person gave that consent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from consent.check import VerifiedConsent, check
from consent.model import AgeBand, GiverRole
from gateway.auth.dependencies import Principal
from gateway.consents import recording, repository, service
from gateway.consents.errors import ConsentGiverMissing, ConsentNotActive
from gateway.consents.models import ConsentIn, GrantIn, WithdrawIn
from gateway.consents.versions import Context
from gateway.runtime import Runtime
from gateway.subjects.repository import subject_of
from tests.consents.conftest import ABH, FORM, JA, JC, SA
from tests.support import named_in

CATALOGUE = (
    (ABH, JC, ("residence_status",), ("labour_market_integration", "case_management")),
    (JC, SA, ("benefit_status",), ("benefit_entitlement",)),
    (SA, JC, ("benefit_status",), ("case_management",)),
    (JA, JC, ("youth_welfare_support",), ("case_management",)),
)
QUESTIONS = [
    (provider, recipient, category, purpose)
    for provider, recipient, categories, _ in CATALOGUE
    for category in categories
    for purpose in ("labour_market_integration", "case_management", "benefit_entitlement")
]
START = datetime.now(UTC)


@dataclass
class ModelConsent:
    consent_id: str
    grants: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]
    valid_until: datetime
    givers: frozenset[GiverRole]
    withdrawn: bool = False


@dataclass
class Model:
    consents: list[ModelConsent] = field(default_factory=list)

    def covers(
        self, question: tuple[str, str, str, str], now: datetime, confided: bool = False
    ) -> bool:
        provider, recipient, category, purpose = question
        return any(
            not consent.withdrawn
            and now < consent.valid_until
            and (not confided or GiverRole.CONFIDING_PERSON in consent.givers)
            and any(
                (g[0], g[1]) == (provider, recipient) and category in g[2] and purpose in g[3]
                for g in consent.grants
            )
            for consent in self.consents
        )


def grant_in(grant) -> GrantIn:
    provider, recipient, categories, purposes = grant
    return GrantIn.model_validate(
        {
            "from": provider,
            "to": recipient,
            "categories": list(categories),
            "purposes": list(purposes),
        }
    )


@pytest.mark.usefixtures("agencies")
def test_the_registry_permits_exactly_what_active_grants_cover(runtime: Runtime):
    class Registry(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.model = Model()
            self.now = START
            person = uuid.uuid4().hex[:12]
            self.references = {agency: f"{agency[:6]}-{person}" for agency in (ABH, JC, JA, SA)}

        def context(self) -> service.Context:
            principal = Principal(JC, "agency", frozenset({"consent:write"}), "job_centre", "koeln")
            return Context(
                principal=principal,
                audit=runtime.audit,
                keys=runtime.keys,
                policies=runtime.policies,
                max_validity_months=24,
                now=self.now,
            )

        @rule(
            grants=st.lists(st.sampled_from(CATALOGUE), min_size=1, max_size=3, unique=True),
            days=st.integers(1, 200),
            band=st.sampled_from(list(AgeBand)),
            givers=st.frozensets(st.sampled_from(list(GiverRole)), min_size=1),
        )
        def record(self, grants, days, band, givers):
            if not any(JC in (g[0], g[1]) for g in grants):
                grants = [*grants, CATALOGUE[1]]
            valid_until = self.now + timedelta(days=days)
            documents = [grant_in(g).model_dump(by_alias=True) for g in grants]
            body = ConsentIn.model_validate(
                {
                    "subject": {
                        "references": named_in(self.references, documents),
                        "age_band": band,
                    },
                    "given_by": [{"role": role} for role in sorted(givers)],
                    "grants": documents,
                    "valid_from": (self.now - timedelta(days=1)).isoformat(),
                    "valid_until": valid_until.isoformat(),
                    "notice": FORM,
                    "evidence": {"channel": "in_person_recorded"},
                }
            )
            # § 36 SGB I: a child under 15 consents only with a guardian or custodian.
            alone = band is AgeBand.MINOR_UNDER_15 and not givers & {
                GiverRole.LEGAL_GUARDIAN,
                GiverRole.CUSTODIAN,
            }
            try:
                with runtime.database.transaction() as session:
                    recorded = recording.record(session, self.context(), body)
            except ConsentGiverMissing:
                assert alone
                return
            assert not alone
            self.model.consents.append(
                ModelConsent(recorded.consent_id, list(grants), valid_until, givers)
            )

        @precondition(lambda self: self.model.consents)
        @rule(data=st.data())
        def withdraw_one_grant(self, data):
            consent = data.draw(st.sampled_from(self.model.consents))
            grant = data.draw(st.sampled_from(consent.grants))
            body = WithdrawIn(channel="written", grants=[grant_in(grant)])
            self._withdraw(consent, body, remaining=[g for g in consent.grants if g != grant])

        @precondition(lambda self: self.model.consents)
        @rule(data=st.data())
        def withdraw_everything(self, data):
            consent = data.draw(st.sampled_from(self.model.consents))
            self._withdraw(consent, WithdrawIn(channel="portal"), remaining=[])

        def _withdraw(self, consent: ModelConsent, body: WithdrawIn, remaining) -> None:
            active = not consent.withdrawn and self.now < consent.valid_until
            try:
                with runtime.database.transaction() as session:
                    service.withdraw(
                        session,
                        self.context(),
                        consent.consent_id,
                        body,
                        runtime.withdrawal_effects,
                    )
            except ConsentNotActive:
                assert not active
                return
            assert active
            if remaining:
                consent.grants = remaining
            else:
                consent.withdrawn = True  # its grants stay listed: withdrawing again must fail

        @rule(days=st.integers(0, 120))
        def time_passes(self, days):
            self.now += timedelta(days=days)

        @invariant()
        def the_check_agrees_with_the_model(self):
            with runtime.database.transaction(read_only=True) as session:
                subject = subject_of(session, JC, self.references[JC])
                if subject is None:
                    return
                for question, confided in product(QUESTIONS, (False, True)):
                    provider, recipient, category, purpose = question
                    stored = repository.permissions(
                        session, subject, provider, recipient, given_by=confided
                    )
                    result = check(
                        stored, provider=provider, recipient=recipient, category=category,
                        purpose=purpose, at=self.now, confided=confided,
                    )  # fmt: skip
                    assert isinstance(result, VerifiedConsent) == self.model.covers(
                        question, self.now, confided
                    ), (question, confided, result)

    run_state_machine_as_test(
        Registry,
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
