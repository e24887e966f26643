"""A query from one agency to another, end to end.

It runs in the event loop, with no worker thread: its transactions too (``Database.run``),
and the provider call is awaited.

1. Decide every category (read-only, ``gateway.release.core.decide``): deny by default,
   permit on a flow and its legal basis.
2. Ask the provider's system, with the provider's own reference and a gateway-signed token.
3. Validate the answer against each category's schema.
4. Release it (``gateway.release.core``): in one transaction that locks the consents
   involved, decide again, keep only the fields each flow releases, write the ledger rows and
   audit entries, and commit. Only then is the data returned. A withdrawal that committed
   first is seen here and wins; one that commits later finds this release and notifies.
   That transaction is group-committed with the releases of concurrent queries
   (``gateway.db.group``): the answer still waits for its own entries' commit.

No transaction is held while the provider is called.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from sqlalchemy.orm import Session

from gateway.agencies import repository as registry
from gateway.audit.service import AuditLog
from gateway.auth.dependencies import Admission
from gateway.db.engine import Database
from gateway.db.group import GroupCommit
from gateway.emergency.access import EmergencyAsk, Justification, Limits, associated_data
from gateway.emergency.models import EmergencyQueryOut, EmergencyWindowOut, JustificationIn
from gateway.errors import GatewayError
from gateway.exchange.errors import ProviderFailed, ProviderTimedOut
from gateway.exchange.models import Basis, QueryIn, QueryOut
from gateway.exchange.provider import ProviderCalls, ProviderFailure, ProviderTokens
from gateway.messages.sealing import MessageKeys
from gateway.observability.tracing import Trace
from gateway.policy.model import PolicySet
from gateway.release.core import (
    Caller,
    Handover,
    Permits,
    Released,
    Rules,
    decide,
    lock,
    parties,
    refuse,
    release,
)
from gateway.release.decision import Deny
from gateway.release.errors import ExchangeDenied, refused
from gateway.release.tables import Kind
from gateway.schemas.registry import SchemaSet
from gateway.settings import Settings
from gateway.subjects.repository import references_by

INTERNAL_FAILURE = "internal_error"  # the audit's reason when the gateway itself failed


@dataclass(frozen=True)
class Gateway:
    """The parts of a running gateway an exchange uses."""

    settings: Settings
    database: Database
    audit: AuditLog
    policies: PolicySet
    schemas: SchemaSet
    providers: ProviderCalls
    provider_tokens: ProviderTokens
    commits: GroupCommit
    sealing: MessageKeys  # seals an emergency query's justification


@dataclass(frozen=True)
class Asked:
    admission: Admission  # the caller's client is confirmed in the query's first transaction
    query: QueryIn
    caseworker: str | None
    request_id: str | None
    trace: Trace  # continued in the call to the provider's system
    justification: JustificationIn | None = None  # an emergency query's (gateway.emergency)


async def query(gateway: Gateway, asked: Asked) -> QueryOut:
    return await _Query(gateway, asked).run()


class _Query:
    """One query under way: who asked whom what, about whom, and what it has come to."""

    handover: Handover

    def __init__(self, gateway: Gateway, asked: Asked):
        self.gateway = gateway
        self.asked = asked
        self.rules = Rules(gateway.policies, gateway.audit)
        self.exchange_id = str(uuid.uuid4())
        self.emergency = _emergency(gateway, asked.justification, self.exchange_id)

    async def run(self) -> QueryOut:
        provider_ref, decided = await self.gateway.database.run(self._decide, read_only=True)
        if isinstance(decided, Deny):
            await self._refuse(decided.reason.value)
        assert provider_ref is not None  # known to the provider, or refused as unknown
        try:
            answer = await self._ask_provider(provider_ref, decided)
            return await self._release(answer)
        except GatewayError:
            raise  # answered deliberately, and on record already
        except Exception:
            # The unexpected, after a decision was taken: on record before the 500, so no
            # decision leaves no trace (promise 2). If even that fails, the original error
            # is what the envelope logs.
            with contextlib.suppress(Exception):
                await self._record(INTERNAL_FAILURE)
            raise

    def _decide(self, session: Session) -> tuple[str | None, Permits | Deny]:
        """Who asks whom about whom, the provider's reference for that person (None if the
        provider does not know them), and the decision (``gateway.release``)."""
        admission, query = self.asked.admission, self.asked.query
        found = registry.clients(session, admission.client_id, query.provider)  # one statement
        principal = admission.confirm_as(found.get(admission.client_id))
        requester, provider = parties(found, principal.client_id, query.provider, "provider")
        subject_id, known, restricted = references_by(session, requester.id, query.subject_ref)
        self.handover = Handover(
            kind=Kind.QUERY,
            id=self.exchange_id,
            provider=provider,
            recipient=requester,
            subject_id=subject_id,
            categories=tuple(category.value for category in dict.fromkeys(query.categories)),
            purpose=query.purpose.value,
            caller=Caller(
                principal.client_id,
                self.asked.caseworker,
                self.asked.request_id,
                self.asked.trace.trace_id,
            ),
            counterpart_knows=provider.id in known,
            restricted=restricted,
            emergency=self.emergency,
        )
        return known.get(provider.id), decide(
            session, self.gateway.policies, self.handover, datetime.now(UTC)
        )

    async def _ask_provider(self, provider_ref: str, permits: Permits) -> dict[str, Any]:
        """The provider's answer, checked against each category's schema."""
        handover, settings = self.handover, self.gateway.settings
        token = self.gateway.provider_tokens.token(handover.provider.id)
        request = {
            "exchange_id": self.exchange_id,
            "subject_ref": provider_ref,
            "categories": list(handover.categories),
            "purpose": handover.purpose,
        }
        url = handover.provider.provider_url or ""
        try:
            answer = await self.gateway.providers.fetch(
                url, token, request, settings.provider_timeout, self.asked.trace.outgoing()
            )
        except ProviderFailure as failure:
            await self._record(failure.reason)
            error = ProviderTimedOut if failure.status == 504 else ProviderFailed
            raise error(reason=failure.reason) from None
        schemas = self.gateway.schemas
        if set(answer) != set(permits) or any(schemas.validate(c, answer[c]) for c in permits):
            reason = "provider_invalid_response"
            await self._record(reason)
            raise ProviderFailed(reason=reason)
        return answer

    async def _release(self, answer: dict[str, Any]) -> QueryOut:
        """The release transaction (``gateway.release.core``), group-committed with those of
        concurrent queries; the answer waits for its own entries' commit."""
        outcome = await self.gateway.commits.run(
            lambda session: release(session, self.rules, lock(session, self.handover), answer)
        )
        if isinstance(outcome, Deny):
            reason = outcome.reason.value
            raise ExchangeDenied(refused("the exchange was refused", reason), reason=reason)
        return _answer(self.exchange_id, outcome)

    async def _refuse(self, reason: str) -> NoReturn:
        await self._record(reason)
        raise ExchangeDenied(refused("the exchange was refused", reason), reason=reason)

    async def _record(self, reason: str) -> None:
        """A refusal, committed though the request fails."""
        await self.gateway.commits.run(
            lambda session: refuse(session, self.rules, self.handover, reason)
        )


def _emergency(
    gateway: Gateway, justification: JustificationIn | None, exchange_id: str
) -> EmergencyAsk | None:
    """An emergency query's justification, sealed for its use (the exchange), and the bounds."""
    if justification is None:
        return None
    plain = Justification.plain_form(justification.case_number, justification.text)
    settings = gateway.settings
    return EmergencyAsk(
        Justification(
            justification.reason, plain, gateway.sealing.seal(plain, associated_data(exchange_id))
        ),
        Limits(
            settings.emergency_window_hours,
            settings.emergency_daily_limit,
            settings.emergency_review_days,
        ),
    )


def _answer(exchange_id: str, released: Released) -> QueryOut:
    bases = {
        category: Basis(
            legal_basis=str(permit.basis),
            consent_id=permit.consent.consent_id if permit.consent else None,
            consent_version=permit.consent.version if permit.consent else None,
            policy_flow=permit.flow.name,
        )
        for category, permit in released.permits.items()
    }
    first = next(iter(bases.values()))
    answer = QueryOut(
        exchange_id=exchange_id,
        data=released.documents,
        legal_basis=first.legal_basis,
        consent_id=first.consent_id,
        bases=bases,
    )
    window = released.window
    if window is None:
        return answer
    return EmergencyQueryOut(
        **answer.model_dump(),
        emergency_window=EmergencyWindowOut(
            id=window.id,
            opened_at=window.opened_at,
            closes_at=window.closes_at,
            review_due_at=window.review_due_at,
        ),
    )
