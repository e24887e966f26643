"""The consent check every exchange goes through.

For (provider agency, recipient agency, subject, category, purpose, time) it returns either a
``VerifiedConsent``, which only this module can make, or a ``Denial`` with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from consent.model import Status


class DenialReason(StrEnum):
    NO_CONSENT = "no_consent"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    CONSENT_EXPIRED = "consent_expired"
    PURPOSE_NOT_COVERED = "purpose_not_covered"
    CATEGORY_NOT_COVERED = "category_not_covered"


@dataclass(frozen=True)
class Permission:
    """One (category, purpose) a consent version allows from one agency to another: the unit
    the registry stores and looks up by (subject, provider, recipient)."""

    consent_id: str
    version: int
    provider: str
    recipient: str
    category: str
    purpose: str
    status: Status  # as stored: active, withdrawn or superseded
    valid_from: datetime
    valid_until: datetime


_ISSUED = object()  # only check() holds it: a VerifiedConsent cannot be made elsewhere


@dataclass(frozen=True)
class VerifiedConsent:
    """Proof that a consent covered this exchange when it was checked."""

    consent_id: str
    version: int
    provider: str
    recipient: str
    category: str
    purpose: str
    checked_at: datetime
    _issued_by: object = field(repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self._issued_by is not _ISSUED:
            raise TypeError("a VerifiedConsent is made only by consent.check.check()")


@dataclass(frozen=True)
class Denial:
    reason: DenialReason


def check(
    permissions: Iterable[Permission],
    *,
    provider: str,
    recipient: str,
    category: str,
    purpose: str,
    at: datetime,
) -> VerifiedConsent | Denial:
    """Decide from the subject's permissions between ``provider`` and ``recipient``.

    ``permissions`` may hold more (other pairs); only this pair's count. A consent valid now
    that covers the request permits. Otherwise the reason explains, in this order: a consent
    that covered exactly this has expired, or was withdrawn (wholly or this permission); a
    consent valid now for this pair lacks the purpose, or the category; there is none.
    """
    pair = [p for p in permissions if p.provider == provider and p.recipient == recipient]
    valid_now = [
        p for p in pair if p.status is Status.ACTIVE and p.valid_from <= at < p.valid_until
    ]
    covering = [p for p in valid_now if p.category == category and p.purpose == purpose]
    if covering:
        best = max(covering, key=lambda p: (p.valid_until, p.consent_id, p.version))
        return VerifiedConsent(
            best.consent_id, best.version, provider, recipient, category, purpose, at, _ISSUED
        )
    once = [p for p in pair if p.category == category and p.purpose == purpose]
    if any(p.status is Status.ACTIVE and at >= p.valid_until for p in once):
        return Denial(DenialReason.CONSENT_EXPIRED)
    if any(p.status in (Status.WITHDRAWN, Status.SUPERSEDED) for p in once):
        return Denial(DenialReason.CONSENT_WITHDRAWN)
    if valid_now:
        if any(p.category == category for p in valid_now):
            return Denial(DenialReason.PURPOSE_NOT_COVERED)
        return Denial(DenialReason.CATEGORY_NOT_COVERED)
    return Denial(DenialReason.NO_CONSENT)
