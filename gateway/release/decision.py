"""The decision every release goes through: deny by default; permit only when a policy flow
allows this provider kind to give this category to this recipient kind for this purpose, and
its legal basis holds now (a statute named in the flow, or a consent that covers exactly this;
for data the flow marks as confided, one the confiding person gave).

The consents are read once for all categories of a release: one indexed lookup of the person's
permissions between the two agencies, whatever the number of consents in the registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from consent.check import Denial, VerifiedConsent, check
from gateway.agencies.repository import Registered
from gateway.consents import repository as consents
from gateway.policy.model import Flow, LegalBasis, PolicySet


class Reason(StrEnum):
    """Why a release was refused (PRODUCT.md §4.2), as the caller and the audit see it."""

    NO_POLICY = "no_policy"
    NO_CONSENT = "no_consent"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    CONSENT_EXPIRED = "consent_expired"
    PURPOSE_NOT_COVERED = "purpose_not_covered"
    CATEGORY_NOT_COVERED = "category_not_covered"
    UNKNOWN_SUBJECT = "unknown_subject"
    AGENCY_DISABLED = "agency_disabled"
    # The data is confided (§ 65 SGB VIII) and no covering consent was given by the person who
    # confided it (the flow may have been marked after the consent was recorded).
    CONFIDING_PERSON_REQUIRED = "confiding_person_required"
    # A DPO restricted the processing of the person's data (Art. 18 GDPR): nothing of theirs
    # is released until the restriction is lifted.
    PROCESSING_RESTRICTED = "processing_restricted"
    # Emergency queries (gateway.emergency): the justification's reason code is not one the
    # emergency flow lists; the window the person's emergency is in no longer allows a flow
    # asked for; the agency made as many emergency queries in 24 hours as the gateway allows.
    EMERGENCY_REASON_NOT_LISTED = "emergency_reason_not_listed"
    EMERGENCY_WINDOW_CLOSED = "emergency_window_closed"
    EMERGENCY_LIMIT_REACHED = "emergency_limit_reached"


@dataclass(frozen=True)
class Permit:
    flow: Flow
    basis: LegalBasis
    consent: VerifiedConsent | None  # None when a statute is the basis


@dataclass(frozen=True)
class Deny:
    reason: Reason


def decide_all(
    session: Session,
    policies: PolicySet,
    *,
    provider: Registered,
    recipient: Registered,
    subject_id: str,
    categories: Sequence[str],
    purpose: str,
    at: datetime,
) -> dict[str, Permit | Deny]:
    """The decision on each category, in their order; the consents are read once for all."""
    if not (provider.enabled and recipient.enabled):
        return {category: Deny(Reason.AGENCY_DISABLED) for category in categories}
    same_municipality = provider.municipality == recipient.municipality
    decided: dict[str, Permit | Deny] = {}
    consented: dict[str, Flow] = {}  # the categories a consent must cover, and their flow
    for category in categories:
        flow = policies.flow_for(
            provider.kind, recipient.kind, category, purpose, same_municipality=same_municipality
        )
        if flow is None:
            decided[category] = Deny(Reason.NO_POLICY)
        elif not flow.legal_basis.is_consent:
            decided[category] = Permit(flow, flow.legal_basis, None)
        else:
            consented[category] = flow
    if consented:
        confided = {category for category, flow in consented.items() if flow.confided_in(category)}
        # Who gave each consent is read only when it matters: for confided data.
        permissions = consents.permissions(
            session, subject_id, provider.id, recipient.id, given_by=bool(confided)
        )
        for category, flow in consented.items():
            result = check(
                permissions,
                provider=provider.id,
                recipient=recipient.id,
                category=category,
                purpose=purpose,
                at=at,
                confided=category in confided,
            )
            decided[category] = (
                Deny(Reason(result.reason.value))
                if isinstance(result, Denial)
                else Permit(flow, flow.legal_basis, result)
            )
    return {category: decided[category] for category in categories}


def minimise(document: object, fields: tuple[str, ...]) -> object:
    """Only the released fields: of the object, or of each object in a list."""
    if isinstance(document, list):
        return [minimise(item, fields) for item in document]
    if isinstance(document, dict):
        return {name: value for name, value in document.items() if name in fields}
    return document
