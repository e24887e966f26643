"""A query from one agency to another, end to end.

1. Decide every category (read-only): deny by default, permit on a flow and its legal basis.
2. Ask the provider's system, with the provider's own reference and a gateway-signed token.
3. Validate the answer against each category's schema; keep only the fields the flow releases.
4. In one transaction that locks the consents involved, decide again, record the release and
   its audit entry, and commit. Only then is the data returned. A withdrawal that committed
   first is seen here and wins; one that commits later finds this release and notifies.

No transaction is held while the provider is called.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

import httpx
from sqlalchemy.orm import Session

from gateway.agencies import repository as registry
from gateway.agencies.tables import Agency
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.audit.service import AuditLog
from gateway.auth.dependencies import Principal
from gateway.auth.tokens import issue_access_token
from gateway.consents import repository as consents
from gateway.db.engine import Database
from gateway.errors import GatewayError, InvalidRequest, ProblemType, problem_type
from gateway.exchange import provider as providers
from gateway.exchange.decision import Deny, Permit, Reason, decide, minimise
from gateway.exchange.models import Basis, QueryIn, QueryOut
from gateway.exchange.tables import Exchange, Release
from gateway.keys.store import KeyStore
from gateway.policy.model import PolicySet
from gateway.settings import Settings
from gateway.subjects.repository import subject_of

EXCHANGE_DENIED = problem_type(
    "exchange-denied",
    "Exchange denied",
    403,
    "No policy flow and legal basis cover this exchange now; `reason` says why.",
)
PROVIDER_FAILED = problem_type(
    "provider-failed",
    "Provider failed",
    502,
    "The providing agency's system did not answer usefully; nothing was passed on.",
)
PROVIDER_TIMEOUT = problem_type(
    "provider-timeout",
    "Provider timed out",
    504,
    "The providing agency's system did not answer in time; nothing was passed on.",
)


class ExchangeDenied(GatewayError):
    kind: ClassVar[ProblemType] = EXCHANGE_DENIED


class ProviderFailed(GatewayError):
    kind: ClassVar[ProblemType] = PROVIDER_FAILED


class ProviderTimedOut(GatewayError):
    kind: ClassVar[ProblemType] = PROVIDER_TIMEOUT


class Validator(Protocol):
    """What the exchange needs of the schema registry."""

    def validate(self, category: str, document: Any) -> list[dict[str, str]]: ...


@dataclass(frozen=True)
class Gateway:
    """The parts of a running gateway an exchange uses."""

    settings: Settings
    database: Database
    keys: KeyStore
    audit: AuditLog
    policies: PolicySet
    schemas: Validator
    http: httpx.Client


@dataclass(frozen=True)
class Asked:
    principal: Principal
    query: QueryIn
    caseworker: str | None
    request_id: str | None


def query(gateway: Gateway, asked: Asked) -> QueryOut:
    exchange_id = str(uuid.uuid4())
    with gateway.database.transaction(read_only=True) as session:
        requester, provider = _agencies(session, asked)
        subject_id = subject_of(session, requester.id, asked.query.subject_ref)
        provider_ref = (
            consents.references_of(session, subject_id).get(provider.id) if subject_id else None
        )
        if subject_id is None or provider_ref is None:
            decisions: dict[str, Permit | Deny] = {}
            denial: Deny | None = Deny(Reason.UNKNOWN_SUBJECT)
        else:
            decisions = _decide_all(session, gateway, asked, requester, provider, subject_id)
            denial = next((d for d in decisions.values() if isinstance(d, Deny)), None)
    if denial is not None:
        _refuse(gateway, asked, exchange_id, subject_id, provider, denial.reason.value)
    assert subject_id is not None
    assert provider_ref is not None
    permits = {category: d for category, d in decisions.items() if isinstance(d, Permit)}

    answer = _ask_provider(gateway, asked, exchange_id, subject_id, provider, provider_ref)
    released = _released(gateway, asked, exchange_id, subject_id, provider, permits, answer)
    return _commit_release(gateway, asked, exchange_id, subject_id, requester, provider, released)


def _agencies(session: Session, asked: Asked) -> tuple[Agency, Agency]:
    requester = registry.get_agency(session, asked.principal.client_id)
    provider = registry.get_agency(session, asked.query.provider)
    if requester is None:
        raise InvalidRequest(errors=[{"path": "/", "message": "only agencies ask for data"}])
    if provider is None or provider.id == requester.id:
        raise InvalidRequest(errors=[{"path": "/body/provider", "message": "unknown agency"}])
    return requester, provider


def _decide_all(
    session: Session,
    gateway: Gateway,
    asked: Asked,
    requester: Agency,
    provider: Agency,
    subject_id: str,
) -> dict[str, Permit | Deny]:
    now = datetime.now(UTC)
    return {
        category.value: decide(
            session,
            gateway.policies,
            provider=provider,
            recipient=requester,
            subject_id=subject_id,
            category=category.value,
            purpose=asked.query.purpose.value,
            at=now,
        )
        for category in dict.fromkeys(asked.query.categories)
    }


def _ask_provider(
    gateway: Gateway,
    asked: Asked,
    exchange_id: str,
    subject_id: str,
    provider: Agency,
    provider_ref: str,
) -> dict[str, Any]:
    settings = gateway.settings
    token = issue_access_token(
        gateway.keys,
        issuer=settings.issuer,
        audience=provider.id,
        client_id="gateway",
        scope="gateway:fetch",
        lifetime=60,
    )
    request = {
        "exchange_id": exchange_id,
        "subject_ref": provider_ref,
        "categories": [c.value for c in dict.fromkeys(asked.query.categories)],
        "purpose": asked.query.purpose.value,
    }
    try:
        return providers.fetch(
            gateway.http, provider.provider_url or "", token, request, settings.provider_timeout
        )
    except providers.ProviderFailure as failure:
        _record(gateway, asked, exchange_id, subject_id, provider, reason=failure.reason)
        error = ProviderTimedOut if failure.status == 504 else ProviderFailed
        raise error(reason=failure.reason) from None


def _released(
    gateway: Gateway,
    asked: Asked,
    exchange_id: str,
    subject_id: str,
    provider: Agency,
    permits: dict[str, Permit],
    answer: dict[str, Any],
) -> dict[str, Any]:
    """The answer checked against each category's schema, minimised to the released fields."""
    if set(answer) != set(permits) or any(gateway.schemas.validate(c, answer[c]) for c in permits):
        reason = "provider_invalid_response"
        _record(gateway, asked, exchange_id, subject_id, provider, reason=reason)
        raise ProviderFailed(reason=reason)
    return {
        category: minimise(answer[category], permit.flow.fields[category])
        for category, permit in permits.items()
    }


def _commit_release(
    gateway: Gateway,
    asked: Asked,
    exchange_id: str,
    subject_id: str,
    requester: Agency,
    provider: Agency,
    released: dict[str, Any],
) -> QueryOut:
    now = datetime.now(UTC)
    with gateway.database.transaction() as session:
        denial = _recheck(session, gateway, asked, subject_id, requester, provider, released, now)
        if isinstance(denial, Deny):
            # Committed with this transaction: the refusal is in the log, nothing released.
            reason = denial.reason.value
            _record_in(session, gateway, asked, exchange_id, subject_id, provider, reason=reason)
        else:
            _store(
                session, gateway, asked, exchange_id, subject_id, provider, denial, released, now
            )
            return _answer(exchange_id, released, denial)
    raise ExchangeDenied(f"the exchange was refused: {reason}", reason=reason)


def _recheck(
    session: Session,
    gateway: Gateway,
    asked: Asked,
    subject_id: str,
    requester: Agency,
    provider: Agency,
    released: dict[str, Any],
    now: datetime,
) -> dict[str, Permit] | Deny:
    """Decide again, under the consents' row locks: a withdrawal either committed before (and
    is seen here) or waits until this release has committed (and then finds it)."""
    for consent_id in consents.consent_ids_of(session, subject_id, provider.id, requester.id):
        consents.consent(session, consent_id, for_update=True)
    requester = registry.get_agency(session, requester.id) or requester
    provider = registry.get_agency(session, provider.id) or provider
    permits: dict[str, Permit] = {}
    for category in released:
        outcome = decide(
            session,
            gateway.policies,
            provider=provider,
            recipient=requester,
            subject_id=subject_id,
            category=category,
            purpose=asked.query.purpose.value,
            at=now,
        )
        if isinstance(outcome, Deny):
            return outcome
        permits[category] = outcome
    return permits


def _store(
    session: Session,
    gateway: Gateway,
    asked: Asked,
    exchange_id: str,
    subject_id: str,
    provider: Agency,
    permits: dict[str, Permit],
    released: dict[str, Any],
    now: datetime,
) -> None:
    session.add(
        Exchange(
            id=exchange_id,
            requester=asked.principal.client_id,
            provider=provider.id,
            subject_id=subject_id,
            purpose=asked.query.purpose.value,
            categories=sorted(permits),
            released_at=now,
        )
    )
    session.flush()
    for category, permit in permits.items():
        consent = permit.consent
        session.add(
            Release(
                exchange_id=exchange_id,
                category=category,
                consent_id=consent.consent_id if consent else None,
                consent_version=consent.version if consent else None,
            )
        )
        gateway.audit.record(
            session,
            _event(
                asked,
                exchange_id,
                subject_id,
                provider,
                Decision.PERMIT,
                None,
                categories=(category,),
                legal_basis=str(permit.basis),
                consent_id=consent.consent_id if consent else None,
                consent_version=consent.version if consent else None,
                policy_id=f"{permit.flow.policy_id}/{permit.flow.id}",
                policy_set_digest=gateway.policies.digest,
                payload=json.dumps(released[category], sort_keys=True).encode(),
            ),
            now=now,
        )
    session.flush()


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


def _refuse(
    gateway: Gateway,
    asked: Asked,
    exchange_id: str,
    subject_id: str | None,
    provider: Agency,
    reason: str,
) -> None:
    _record(gateway, asked, exchange_id, subject_id, provider, reason=reason)
    raise ExchangeDenied(f"the exchange was refused: {reason}", reason=reason)


def _record(
    gateway: Gateway,
    asked: Asked,
    exchange_id: str,
    subject_id: str | None,
    provider: Agency,
    *,
    reason: str,
) -> None:
    """A refusal in a transaction of its own, committed though the request fails."""
    with gateway.database.transaction() as session:
        _record_in(session, gateway, asked, exchange_id, subject_id, provider, reason=reason)


def _record_in(
    session: Session,
    gateway: Gateway,
    asked: Asked,
    exchange_id: str,
    subject_id: str | None,
    provider: Agency,
    *,
    reason: str,
) -> None:
    gateway.audit.record(
        session,
        _event(
            asked,
            exchange_id,
            subject_id,
            provider,
            Decision.DENY,
            reason,
            categories=tuple(c.value for c in asked.query.categories),
            policy_set_digest=gateway.policies.digest,
        ),
    )


def _event(
    asked: Asked,
    exchange_id: str,
    subject_id: str | None,
    provider: Agency,
    decision: Decision,
    reason: str | None,
    **fields: Any,
) -> AuditEvent:
    return AuditEvent(
        EventType.EXCHANGE_DECIDED,
        actor=asked.principal.client_id,
        requester=asked.principal.client_id,
        provider=provider.id,
        caseworker=asked.caseworker,
        subject_id=subject_id,
        purpose=asked.query.purpose.value,
        decision=decision,
        reason=reason,
        request_id=asked.request_id,
        details={"exchange_id": exchange_id},
        **fields,
    )
