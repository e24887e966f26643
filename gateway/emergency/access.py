"""The emergency part of a release (``gateway.release.core``): what an emergency query is
decided by, and what its release records besides the ledger and the audit.

An emergency query rests on no consent: only on a policy flow marked ``emergency`` (a statute,
§ 8a SGB VIII), for a recipient the flow names, with a reason code the flow lists. A person's
withdrawal therefore changes nothing here, and nothing here reads consents. It is bounded:
each agency may make ``daily_limit`` emergency queries in any 24 hours, and each opens (or falls
in) a window for that person and that agency, at most as long as every flow used allows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from gateway.emergency import repository
from gateway.emergency.tables import EmergencyUse, EmergencyWindow
from gateway.messages.sealing import Sealed
from gateway.policy.model import PolicySet
from gateway.release.decision import Deny, Permit, Reason


@dataclass(frozen=True)
class Limits:
    """The deployment's bounds on emergency access (``Settings.emergency_*``)."""

    window_hours: int
    daily_limit: int
    review_days: int


@dataclass(frozen=True)
class Justification:
    """Why an emergency query cannot wait for consent. ``plain`` (the case number and the text
    as JSON) is held only in memory, for the audit entry's keyed digest; ``sealed`` is what is
    stored."""

    reason: str  # a reason code the flow lists
    plain: bytes
    sealed: Sealed

    @staticmethod
    def plain_form(case_number: str, text: str) -> bytes:
        return json.dumps(
            {"case_number": case_number, "text": text}, ensure_ascii=False, sort_keys=True
        ).encode()


@dataclass(frozen=True)
class EmergencyAsk:
    justification: Justification
    limits: Limits


def associated_data(use_id: str) -> bytes:
    """What a sealed justification is bound to: its use (a copy in another row does not open)."""
    return f"emergency-justification:{use_id}".encode()


def decide(
    session: Session,
    policies: PolicySet,
    ask: EmergencyAsk,
    *,
    provider_kind: str,
    recipient_kind: str,
    same_municipality: bool,
    recipient: str,
    subject_id: str,
    categories: tuple[str, ...],
    purpose: str,
    at: datetime,
) -> dict[str, Permit] | Deny:
    """A permit per category on its emergency flow, or the first refusal: no emergency flow
    (``no_policy``), a reason code the flow does not list, an open window the flow no longer
    allows, or the agency's daily limit reached."""
    permits: dict[str, Permit] = {}
    for category in categories:
        flow = policies.emergency_flow_for(
            provider_kind, recipient_kind, category, purpose, same_municipality=same_municipality
        )
        if flow is None or flow.emergency is None:
            return Deny(Reason.NO_POLICY)
        if ask.justification.reason not in flow.emergency.reasons:
            return Deny(Reason.EMERGENCY_REASON_NOT_LISTED)
        permits[category] = Permit(flow, flow.legal_basis, None)
    window = repository.open_window(session, subject_id, recipient, at)
    if window is not None and at >= _latest_close(window.opened_at, permits, ask.limits):
        return Deny(Reason.EMERGENCY_WINDOW_CLOSED)
    if repository.uses_since(session, recipient, at - timedelta(days=1)) >= ask.limits.daily_limit:
        return Deny(Reason.EMERGENCY_LIMIT_REACHED)
    return permits


def _latest_close(opened_at: datetime, permits: Mapping[str, Permit], limits: Limits) -> datetime:
    """When a window opened at ``opened_at`` closes for these flows: the deployment's length,
    or the shortest maximum of the flows', whichever is less."""
    hours = min(
        [limits.window_hours]
        + [p.flow.emergency.max_window_hours for p in permits.values() if p.flow.emergency]
    )
    return opened_at + timedelta(hours=hours)


def record_use(
    session: Session,
    ask: EmergencyAsk,
    permits: Mapping[str, Permit],
    *,
    use_id: str,
    subject_id: str,
    recipient: str,
    provider: str,
    purpose: str,
    at: datetime,
) -> EmergencyWindow:
    """The use, with its justification sealed, in the window open for this person and agency,
    or in a new one; returns the window."""
    window = repository.open_window(session, subject_id, recipient, at)
    if window is None:
        window = EmergencyWindow(
            id=str(uuid.uuid4()),
            subject_id=subject_id,
            recipient=recipient,
            reason=ask.justification.reason,
            opened_at=at,
            closes_at=_latest_close(at, permits, ask.limits),
            review_due_at=at + timedelta(days=ask.limits.review_days),
        )
        repository.add(session, window)
    sealed = ask.justification.sealed
    repository.add(
        session,
        EmergencyUse(
            id=use_id,
            window_id=window.id,
            subject_id=subject_id,
            recipient=recipient,
            provider=provider,
            categories=" ".join(sorted(permits)),
            purpose=purpose,
            reason=ask.justification.reason,
            used_at=at,
            key_id=sealed.key_id,
            wrapped_key=sealed.wrapped_key,
            nonce=sealed.nonce,
            ciphertext=sealed.ciphertext,
        ),
    )
    return window
