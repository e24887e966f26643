"""The consent check permits exactly what an active, unexpired permission covers, and names the
reason otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.check import Denial, DenialReason, Permission, VerifiedConsent, check
from consent.model import GiverRole, Status

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
ABH, JC, SA = "koeln-auslaenderbehoerde", "koeln-jobcenter", "koeln-sozialamt"
RESIDENCE, BENEFIT = "residence_status", "benefit_status"
LABOUR, CASE = "labour_market_integration", "case_management"


def permission(
    category: str = RESIDENCE,
    purpose: str = LABOUR,
    *,
    status: Status = Status.ACTIVE,
    start: timedelta = timedelta(days=-10),
    end: timedelta = timedelta(days=300),
    consent_id: str = "c1",
    version: int = 1,
    provider: str = ABH,
    recipient: str = JC,
    given_by: frozenset[GiverRole] = frozenset({GiverRole.DATA_SUBJECT}),
) -> Permission:
    return Permission(
        consent_id,
        version,
        provider,
        recipient,
        category,
        purpose,
        status,
        NOW + start,
        NOW + end,
        given_by,
    )


def decide(
    *permissions: Permission,
    category: str = RESIDENCE,
    purpose: str = LABOUR,
    confided: bool = False,
):
    return check(
        permissions,
        provider=ABH,
        recipient=JC,
        category=category,
        purpose=purpose,
        at=NOW,
        confided=confided,
    )


def test_an_active_covering_permission_permits():
    result = decide(permission())
    assert isinstance(result, VerifiedConsent)
    assert (result.consent_id, result.version, result.checked_at) == ("c1", 1, NOW)


def test_a_verified_consent_cannot_be_made_outside_the_check():
    with pytest.raises(TypeError):
        VerifiedConsent("c1", 1, ABH, JC, RESIDENCE, LABOUR, NOW)


@pytest.mark.parametrize(
    ("permissions", "reason"),
    [
        ((), DenialReason.NO_CONSENT),
        ((permission(provider=SA),), DenialReason.NO_CONSENT),  # another pair
        ((permission(recipient=SA),), DenialReason.NO_CONSENT),
        ((permission(start=timedelta(days=1)),), DenialReason.NO_CONSENT),  # not yet valid
        ((permission(end=timedelta(0)),), DenialReason.CONSENT_EXPIRED),  # ends exactly now
        ((permission(end=timedelta(days=-1)),), DenialReason.CONSENT_EXPIRED),
        ((permission(status=Status.WITHDRAWN),), DenialReason.CONSENT_WITHDRAWN),
        ((permission(status=Status.SUPERSEDED),), DenialReason.CONSENT_WITHDRAWN),
        ((permission(purpose=CASE),), DenialReason.PURPOSE_NOT_COVERED),
        ((permission(category=BENEFIT),), DenialReason.CATEGORY_NOT_COVERED),
        # A permission withdrawn from a consent whose other permissions stay: withdrawn.
        (
            (
                permission(status=Status.SUPERSEDED),
                permission(purpose=CASE, status=Status.SUPERSEDED),
                permission(purpose=CASE, version=2),
            ),
            DenialReason.CONSENT_WITHDRAWN,
        ),
    ],
)
def test_each_denial_names_its_reason(permissions, reason):
    assert decide(*permissions) == Denial(reason)


CONFIDING = frozenset({GiverRole.DATA_SUBJECT, GiverRole.CONFIDING_PERSON})


def test_confided_data_is_covered_only_by_a_consent_its_confiding_person_gave():
    assert decide(permission(), confided=True) == Denial(DenialReason.CONFIDING_PERSON_REQUIRED)
    assert isinstance(decide(permission(given_by=CONFIDING), confided=True), VerifiedConsent)
    # The same consents, for data nobody confided: the person's own consent covers it.
    assert isinstance(decide(permission(), confided=False), VerifiedConsent)


def test_of_two_covering_consents_the_confiding_persons_permits_confided_data():
    result = decide(
        permission(consent_id="c1", end=timedelta(days=600)),  # lasts longer, but not theirs
        permission(consent_id="c2", given_by=CONFIDING),
        confided=True,
    )
    assert isinstance(result, VerifiedConsent)
    assert result.consent_id == "c2"


def test_a_confiding_persons_consent_that_ended_is_named_as_ended_not_as_missing():
    """The reason says what the caller can do: a consent of theirs ran out, so ask again."""
    ended = permission(given_by=CONFIDING, end=timedelta(days=-1))
    assert decide(ended, confided=True) == Denial(DenialReason.CONSENT_EXPIRED)
    assert decide(ended, permission(consent_id="c2"), confided=True) == Denial(
        DenialReason.CONFIDING_PERSON_REQUIRED
    )


def test_a_newer_version_that_still_covers_permits():
    result = decide(permission(status=Status.SUPERSEDED), permission(version=2))
    assert isinstance(result, VerifiedConsent)
    assert result.version == 2


PAIRS = st.sampled_from([(ABH, JC), (ABH, SA), (SA, JC)])
CATEGORIES = st.sampled_from([RESIDENCE, BENEFIT])
PURPOSES = st.sampled_from([LABOUR, CASE])
STATUSES = st.sampled_from([Status.ACTIVE, Status.WITHDRAWN, Status.SUPERSEDED])
GIVERS = st.frozensets(st.sampled_from(list(GiverRole)), min_size=1)
DAYS = st.integers(-400, 400).map(lambda days: timedelta(days=days))


@st.composite
def permissions(draw: st.DrawFn) -> Permission:
    provider, recipient = draw(PAIRS)
    start = draw(DAYS)
    return Permission(
        consent_id=draw(st.sampled_from(["c1", "c2", "c3"])),
        version=draw(st.integers(1, 3)),
        provider=provider,
        recipient=recipient,
        category=draw(CATEGORIES),
        purpose=draw(PURPOSES),
        status=draw(STATUSES),
        valid_from=NOW + start,
        valid_until=NOW + start + draw(st.integers(1, 800).map(lambda d: timedelta(days=d))),
        given_by=draw(GIVERS),
    )


@given(st.lists(permissions(), max_size=12), PAIRS, CATEGORIES, PURPOSES, st.booleans())
def test_permits_exactly_what_an_active_unexpired_permission_covers(
    stored, pair, category, purpose, confided
):
    provider, recipient = pair
    result = check(
        stored,
        provider=provider,
        recipient=recipient,
        category=category,
        purpose=purpose,
        at=NOW,
        confided=confided,
    )
    covered = any(
        p.status is Status.ACTIVE
        and p.valid_from <= NOW < p.valid_until
        and (p.provider, p.recipient, p.category, p.purpose)
        == (provider, recipient, category, purpose)
        and (not confided or GiverRole.CONFIDING_PERSON in p.given_by)
        for p in stored
    )
    assert isinstance(result, VerifiedConsent) == covered
    # The reason never claims a consent where this pair has none at all.
    if isinstance(result, Denial) and not any((p.provider, p.recipient) == pair for p in stored):
        assert result.reason is DenialReason.NO_CONSENT
