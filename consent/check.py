"""The consent check every exchange goes through.

For (provider agency, recipient agency, subject, category, purpose, time) it returns either a
``VerifiedConsent``, which only this module can make, or a ``Denial`` with its reason. Data the
policy marks as confided (§ 65 SGB VIII) is covered only by a consent its confiding person gave
(``consent.givers``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from consent.givers import GiverRule, covers_confided
from consent.model import GiverRole, Status


class DenialReason(StrEnum):
    NO_CONSENT = "no_consent"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    CONSENT_EXPIRED = "consent_expired"
    PURPOSE_NOT_COVERED = "purpose_not_covered"
    CATEGORY_NOT_COVERED = "category_not_covered"
    # A consent covers the data, but the data was confided and its confiding person did not
    # give that consent.
    CONFIDING_PERSON_REQUIRED = GiverRule.CONFIDING_PERSON_REQUIRED.value


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
    # Who gave the version. Read only when the question is about confided data; empty (which
    # covers no confided data) when not read.
    given_by: frozenset[GiverRole] = frozenset()


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
    confided: bool = False,
) -> VerifiedConsent | Denial:
    """Decide from the subject's permissions between ``provider`` and ``recipient``.

    ``permissions`` may hold more (other pairs); only this pair's count. A consent valid now
    that covers the request permits, if the data is ``confided`` only one its confiding person
    gave (the permissions must then carry ``given_by``). Otherwise the reason explains, in this
    order: consents valid now cover it but none was given by the confiding person; a consent
    that covered exactly this has expired, or was withdrawn (wholly or this permission); a
    consent valid now for this pair lacks the purpose, or the category; there is none.
    """
    pair = [p for p in permissions if p.provider == provider and p.recipient == recipient]
    valid_now = [
        p for p in pair if p.status is Status.ACTIVE and p.valid_from <= at < p.valid_until
    ]
    covering = [p for p in valid_now if p.category == category and p.purpose == purpose]
    entitled = [p for p in covering if not confided or covers_confided(p.given_by)]
    if entitled:
        best = max(entitled, key=lambda p: (p.valid_until, p.consent_id, p.version))
        return VerifiedConsent(
            best.consent_id, best.version, provider, recipient, category, purpose, at, _ISSUED
        )
    if covering:
        return Denial(DenialReason.CONFIDING_PERSON_REQUIRED)
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
