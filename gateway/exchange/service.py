"""A query from one agency to another, end to end.

It runs in the event loop, with no worker thread: its transactions too (``Database.run``),
and the provider call is awaited.

1. Decide every category (read-only): deny by default, permit on a flow and its legal basis.
2. Ask the provider's system, with the provider's own reference and a gateway-signed token.
3. Validate the answer against each category's schema; keep only the fields the flow releases.
4. In one transaction that locks the consents involved, decide again, record the release and
   its audit entry, and commit. Only then is the data returned. A withdrawal that committed
   first is seen here and wins; one that commits later finds this release and notifies.
   That transaction is group-committed with the releases of concurrent queries
   (``gateway.db.group``): the answer still waits for its own entry's commit.

No transaction is held while the provider is called.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, Protocol

from sqlalchemy.orm import Session

from gateway.agencies import repository as registry
from gateway.agencies.repository import KnownClient, Registered
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.audit.service import AuditLog
from gateway.auth.dependencies import Admission, Principal
from gateway.consents import repository as consents
from gateway.db.engine import Database
from gateway.db.group import GroupCommit
from gateway.errors import GatewayError, InvalidRequest
from gateway.exchange import repository
from gateway.exchange.decision import Deny, Permit, Reason, decide_all, minimise
from gateway.exchange.errors import ExchangeDenied, ProviderFailed, ProviderTimedOut
from gateway.exchange.models import Basis, QueryIn, QueryOut
from gateway.exchange.provider import ProviderCalls, ProviderFailure, ProviderTokens
from gateway.policy.model import PolicySet
from gateway.settings import Settings
from gateway.subjects.repository import references_by

INTERNAL_FAILURE = "internal_error"  # the audit's reason when the gateway itself failed


class Validator(Protocol):
    """What the exchange needs of the schema registry."""

    def validate(self, category: str, document: Any) -> list[dict[str, str]]: ...


@dataclass(frozen=True)
class Gateway:
    """The parts of a running gateway an exchange uses."""

    settings: Settings
    database: Database
    audit: AuditLog
    policies: PolicySet
    schemas: Validator
    providers: ProviderCalls
    provider_tokens: ProviderTokens
    commits: GroupCommit


@dataclass(frozen=True)
class Asked:
    admission: Admission  # the caller's client is confirmed in the query's first transaction
    query: QueryIn
    caseworker: str | None
    request_id: str | None


async def query(gateway: Gateway, asked: Asked) -> QueryOut:
    return await _Query(gateway, asked).run()


def _agencies(
    found: dict[str, KnownClient], principal: Principal, query: QueryIn
) -> tuple[Registered, Registered]:
    requester, provider = (
        client.agency if client else None
        for client in (found.get(principal.client_id), found.get(query.provider))
    )
    if requester is None:
        raise InvalidRequest(errors=[{"path": "/", "message": "only agencies ask for data"}])
    if provider is None or provider.id == requester.id:
        raise InvalidRequest(errors=[{"path": "/body/provider", "message": "unknown agency"}])
    return requester, provider


class _Query:
    """One query under way: who asked whom what, about whom, and what it has come to."""

    principal: Principal
    requester: Registered
    provider: Registered

    def __init__(self, gateway: Gateway, asked: Asked):
        self.gateway = gateway
        self.asked = asked
        self.exchange_id = str(uuid.uuid4())
        self.subject_id: str | None = None
        self.categories = [category.value for category in dict.fromkeys(asked.query.categories)]
        self.purpose = asked.query.purpose.value

    async def run(self) -> QueryOut:
        provider_ref, decisions = await self.gateway.database.run(self._decide, read_only=True)
        denial = next((d for d in decisions.values() if isinstance(d, Deny)), None)
        if denial is not None:
            await self._refuse(denial.reason.value)
        if provider_ref is None:  # permitted (by a statute), but the provider has no file
            await self._refuse(Reason.UNKNOWN_SUBJECT.value)
        permits = {category: d for category, d in decisions.items() if isinstance(d, Permit)}
        try:
            answer = await self._ask_provider(provider_ref)
            return await self._commit_release(await self._released(permits, answer))
        except GatewayError:
            raise  # answered deliberately, and on record already
        except Exception:
            # The unexpected, after a decision was taken: on record before the 500, so no
            # decision leaves no trace (promise 2). If even that fails, the original error
            # is what the envelope logs.
            with contextlib.suppress(Exception):
                await self._record(INTERNAL_FAILURE)
            raise

    def _decide(self, session: Session) -> tuple[str | None, dict[str, Permit | Deny]]:
        """Who asks whom about whom, the provider's reference for that person (None if the
        provider does not know them), and the decision on every category.

        ``unknown_subject`` only when the caller's own reference is unknown: whether the
        provider has the person on file must not show in a refusal, so the policy and the
        consents the caller is party to decide first."""
        admission, query = self.asked.admission, self.asked.query
        found = registry.clients(session, admission.client_id, query.provider)  # one statement
        self.principal = admission.confirm_as(found.get(admission.client_id))
        self.requester, self.provider = _agencies(found, self.principal, query)
        self.subject_id, known = references_by(
            session, self.requester.id, self.asked.query.subject_ref
        )
        if self.subject_id is None:
            return None, dict.fromkeys(self.categories, Deny(Reason.UNKNOWN_SUBJECT))
        return known.get(self.provider.id), self._decide_all(session, datetime.now(UTC))

    def _decide_all(self, session: Session, now: datetime) -> dict[str, Permit | Deny]:
        assert self.subject_id is not None
        return decide_all(
            session,
            self.gateway.policies,
            provider=self.provider,
            recipient=self.requester,
            subject_id=self.subject_id,
            categories=self.categories,
            purpose=self.purpose,
            at=now,
        )

    async def _ask_provider(self, provider_ref: str) -> dict[str, Any]:
        settings = self.gateway.settings
        token = self.gateway.provider_tokens.token(self.provider.id)
        request = {
            "exchange_id": self.exchange_id,
            "subject_ref": provider_ref,
            "categories": self.categories,
            "purpose": self.purpose,
        }
        url = self.provider.provider_url or ""
        try:
            return await self.gateway.providers.fetch(
                url, token, request, settings.provider_timeout
            )
        except ProviderFailure as failure:
            await self._record(failure.reason)
            error = ProviderTimedOut if failure.status == 504 else ProviderFailed
            raise error(reason=failure.reason) from None

    async def _released(self, permits: dict[str, Permit], answer: dict[str, Any]) -> dict[str, Any]:
        """The answer checked against each category's schema, minimised to the released fields."""
        schemas = self.gateway.schemas
        if set(answer) != set(permits) or any(schemas.validate(c, answer[c]) for c in permits):
            reason = "provider_invalid_response"
            await self._record(reason)
            raise ProviderFailed(reason=reason)
        return {
            category: minimise(answer[category], permit.flow.fields[category])
            for category, permit in permits.items()
        }

    async def _commit_release(self, released: dict[str, Any]) -> QueryOut:
        def release(session: Session) -> dict[str, Permit] | Deny:
            checked, now = self._recheck(session, released)
            if isinstance(checked, Deny):
                # Committed all the same: the refusal is in the log, nothing released.
                self._record_in(session, checked.reason.value)
            else:
                self._store(session, checked, released, now)
            return checked

        checked = await self.gateway.commits.run(release)
        if isinstance(checked, Deny):
            reason = checked.reason.value
            raise ExchangeDenied(f"the exchange was refused: {reason}", reason=reason)
        return _answer(self.exchange_id, released, checked)

    def _recheck(
        self, session: Session, released: dict[str, Any]
    ) -> tuple[dict[str, Permit] | Deny, datetime]:
        """Decide again, under the consents' and both agencies' row locks: a withdrawal or a
        disabling either committed before (and is seen here) or waits until this release has
        committed (and a withdrawal then finds it). The time of this decision is taken once
        the locks are held: the release may have waited for them, or in the group commit's
        queue, and a consent may have expired meanwhile."""
        assert self.subject_id is not None
        consents.lock_consents_between(
            session, self.subject_id, self.provider.id, self.requester.id
        )
        found = registry.agencies(session, self.requester.id, self.provider.id, locked=True)
        self.requester = found.get(self.requester.id, self.requester)
        self.provider = found.get(self.provider.id, self.provider)
        now = datetime.now(UTC)
        permits: dict[str, Permit] = {}
        for category, outcome in self._decide_all(session, now).items():
            if category not in released:
                continue
            if isinstance(outcome, Deny):
                return outcome, now
            permits[category] = outcome
        return permits, now

    def _store(
        self,
        session: Session,
        permits: dict[str, Permit],
        released: dict[str, Any],
        now: datetime,
    ) -> None:
        assert self.subject_id is not None
        repository.add_release(
            session,
            exchange_id=self.exchange_id,
            requester=self.requester.id,
            provider=self.provider.id,
            subject_id=self.subject_id,
            purpose=self.purpose,
            released_at=now,
            consents={
                category: (permit.consent.consent_id, permit.consent.version)
                if permit.consent
                else None
                for category, permit in permits.items()
            },
        )
        for category, permit in permits.items():
            consent = permit.consent
            self.gateway.audit.record(
                session,
                self._event(
                    Decision.PERMIT,
                    None,
                    categories=(category,),
                    legal_basis=str(permit.basis),
                    consent_id=consent.consent_id if consent else None,
                    consent_version=consent.version if consent else None,
                    policy_id=f"{permit.flow.policy_id}/{permit.flow.id}",
                    payload=json.dumps(released[category], sort_keys=True).encode(),
                ),
                now=now,
            )

    async def _refuse(self, reason: str) -> NoReturn:
        await self._record(reason)
        raise ExchangeDenied(f"the exchange was refused: {reason}", reason=reason)

    async def _record(self, reason: str) -> None:
        """A refusal, committed though the request fails."""
        await self.gateway.commits.run(lambda session: self._record_in(session, reason))

    def _record_in(self, session: Session, reason: str) -> None:
        self.gateway.audit.record(
            session, self._event(Decision.DENY, reason, categories=tuple(self.categories))
        )

    def _event(self, decision: Decision, reason: str | None, **fields: Any) -> AuditEvent:
        return AuditEvent(
            EventType.EXCHANGE_DECIDED,
            actor=self.principal.client_id,
            requester=self.requester.id,
            provider=self.provider.id,
            caseworker=self.asked.caseworker,
            subject_id=self.subject_id,
            purpose=self.purpose,
            decision=decision,
            reason=reason,
            request_id=self.asked.request_id,
            policy_set_digest=self.gateway.policies.digest,
            details={"exchange_id": self.exchange_id},
            **fields,
        )


def _answer(exchange_id: str, released: dict[str, Any], permits: dict[str, Permit]) -> QueryOut:
    bases = {
        category: Basis(
            legal_basis=str(permit.basis),
            consent_id=permit.consent.consent_id if permit.consent else None,
            consent_version=permit.consent.version if permit.consent else None,
            policy_flow=f"{permit.flow.policy_id}/{permit.flow.id}",
        )
        for category, permit in permits.items()
    }
    first = next(iter(bases.values()))
    return QueryOut(
        exchange_id=exchange_id,
        data=released,
        legal_basis=first.legal_basis,
        consent_id=first.consent_id,
        bases=bases,
    )
