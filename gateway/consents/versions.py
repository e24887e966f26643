"""What recording and changing a consent share: the change's context, storing a version with
its permission rows and receipt, and auditing the change."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.auth.dependencies import Principal
from gateway.consents import repository
from gateway.consents.models import GrantIn
from gateway.consents.portal_codes import Issuer, LiveCode
from gateway.consents.receipts import sign_receipt
from gateway.consents.tables import ConsentVersion
from gateway.keys.store import KeyStore
from gateway.policy.model import PolicySet

BERLIN = ZoneInfo("Europe/Berlin")  # the setting's default


@dataclass(frozen=True)
class Context:
    """What a consent change needs besides its session: who asks, and the gateway's parts."""

    principal: Principal
    audit: AuditLog
    keys: KeyStore
    policies: PolicySet
    max_validity_months: int
    now: datetime  # when the request arrived, or the time a caller (a test, an import) set
    caseworker: str | None = None
    request_id: str | None = None
    trace_id: str | None = None
    # Where ``now`` came from, to read it again once the change's locks are held (see
    # ``at_lock``); None when ``now`` was set on purpose.
    clock: Callable[[], datetime] | None = None
    # Where a consent's plain dates are whole days (``valid_until: 2027-12-31``).
    time_zone: ZoneInfo = BERLIN

    def at_lock(self) -> Context:
        """The context at the moment its change holds its locks: a withdrawal that waited for
        a release holding the consent must be dated after that release, which committed
        first (its ledger row and audit entry say so)."""
        return replace(self, now=self.clock()) if self.clock is not None else self

    def issuer(self) -> Issuer:
        """The calling agency as the issuer of a portal code."""
        return Issuer(self.principal.client_id, self.caseworker, self.request_id, self.trace_id)


@dataclass(frozen=True)
class Actor:
    """Who changes a consent, as the audit log names them: an agency (``requester`` is that
    agency), or the person themselves in the portal (no requester; ``portal_code`` is the
    issue of the code their session was opened with, which names the agency that gave it)."""

    actor: str
    requester: str | None = None
    caseworker: str | None = None
    request_id: str | None = None
    trace_id: str | None = None
    portal_code: LiveCode | None = None

    @classmethod
    def of(cls, context: Context) -> Actor:
        agency = context.principal.client_id
        return cls(agency, agency, context.caseworker, context.request_id, context.trace_id)


def permissions_of(grants: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    """The (provider, recipient, category, purpose) rows a version's grants give."""
    return {
        (grant["from"], grant["to"], category, purpose)
        for grant in grants
        for category in grant["categories"]
        for purpose in grant["purposes"]
    }


def store_version(
    session: Session, context: Context, version: ConsentVersion, subject_id: str
) -> None:
    version.receipt = sign_receipt(context.keys, version, context.now)
    repository.add_version(session, version, subject_id, permissions_of(version.grants))


def audit_change(
    session: Session,
    context: Context,
    event: EventType,
    version: ConsentVersion,
    subject_id: str,
    details: dict[str, str | int | bool] | None = None,
) -> None:
    record_change(
        session, context.audit, event, version, subject_id, Actor.of(context), context.now, details
    )


def record_change(
    session: Session,
    audit: AuditLog,
    event: EventType,
    version: ConsentVersion,
    subject_id: str,
    by: Actor,
    now: datetime,
    details: dict[str, str | int | bool] | None = None,
) -> None:
    categories = sorted({c for grant in version.grants for c in grant["categories"]})
    details = dict(details or {"grants": len(version.grants)})
    if by.portal_code is not None:
        details |= by.portal_code.details
    audit.record(
        session,
        AuditEvent(
            event,
            actor=by.actor,
            requester=by.requester,
            caseworker=by.caseworker,
            subject_id=subject_id,
            categories=tuple(categories),
            legal_basis="consent",
            consent_id=version.consent_id,
            consent_version=version.version,
            request_id=by.request_id,
            trace_id=by.trace_id,
            details=details,
        ),
        now=now,
    )


def grant_document(grant: GrantIn) -> dict[str, object]:
    return {
        "from": grant.provider,
        "to": grant.recipient,
        "categories": sorted({c.value for c in grant.categories}),
        "purposes": sorted({p.value for p in grant.purposes}),
    }


def is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
