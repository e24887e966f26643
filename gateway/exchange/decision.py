"""The decision every exchange goes through: deny by default; permit only when a policy flow
allows this provider kind to give this category to this recipient kind for this purpose, and
its legal basis holds now (a statute named in the flow, or a consent that covers exactly this)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from consent.check import Denial, VerifiedConsent
from gateway.agencies.repository import Registered
from gateway.consents.service import check_consent
from gateway.policy.model import Flow, LegalBasis, PolicySet


class Reason(StrEnum):
    """Why an exchange was refused (PRODUCT.md §4.2), as the caller and the audit see it."""

    NO_POLICY = "no_policy"
    NO_CONSENT = "no_consent"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    CONSENT_EXPIRED = "consent_expired"
    PURPOSE_NOT_COVERED = "purpose_not_covered"
    CATEGORY_NOT_COVERED = "category_not_covered"
    UNKNOWN_SUBJECT = "unknown_subject"
    AGENCY_DISABLED = "agency_disabled"


@dataclass(frozen=True)
class Permit:
    flow: Flow
    basis: LegalBasis
    consent: VerifiedConsent | None  # None when a statute is the basis


@dataclass(frozen=True)
class Deny:
    reason: Reason


def decide(
    session: Session,
    policies: PolicySet,
    *,
    provider: Registered,
    recipient: Registered,
    subject_id: str,
    category: str,
    purpose: str,
    at: datetime,
) -> Permit | Deny:
    if not (provider.enabled and recipient.enabled):
        return Deny(Reason.AGENCY_DISABLED)
    flows = policies.flows_for(
        provider.kind,
        recipient.kind,
        category,
        purpose,
        same_municipality=provider.municipality == recipient.municipality,
    )
    if not flows:
        return Deny(Reason.NO_POLICY)
    for flow in flows:
        if not flow.legal_basis.is_consent:
            return Permit(flow, flow.legal_basis, None)
    result = check_consent(
        session,
        subject_id=subject_id,
        provider=provider.id,
        recipient=recipient.id,
        category=category,
        purpose=purpose,
        at=at,
    )
    if isinstance(result, Denial):
        return Deny(Reason(result.reason.value))
    return Permit(flows[0], flows[0].legal_basis, result)


def minimise(document: object, fields: tuple[str, ...]) -> object:
    """Only the released fields: of the object, or of each object in a list."""
    if isinstance(document, list):
        return [minimise(item, fields) for item in document]
    if isinstance(document, dict):
        return {name: value for name, value in document.items() if name in fields}
    return document
