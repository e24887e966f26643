"""Who may give a consent: a child under 15 needs a legal guardian or custodian among the
givers (§ 36 SGB I); from 15 a person may consent alone; confided data needs its confiding
person (§ 65 SGB VIII)."""

from __future__ import annotations

import pytest

from consent.givers import covers_confided, needs_guardian
from consent.model import AgeBand, GiverRole

SUBJECT, GUARDIAN, CUSTODIAN, CONFIDING = (
    GiverRole.DATA_SUBJECT,
    GiverRole.LEGAL_GUARDIAN,
    GiverRole.CUSTODIAN,
    GiverRole.CONFIDING_PERSON,
)


@pytest.mark.parametrize(
    "givers", [{SUBJECT}, {CONFIDING}, {SUBJECT, CONFIDING}], ids=lambda g: "+".join(sorted(g))
)
def test_a_child_under_15_does_not_consent_alone(givers):
    assert needs_guardian(AgeBand.MINOR_UNDER_15, givers)


@pytest.mark.parametrize(
    "givers", [{GUARDIAN}, {CUSTODIAN}, {SUBJECT, CUSTODIAN}, {SUBJECT, GUARDIAN, CONFIDING}]
)
def test_a_child_under_15_consents_with_a_guardian_or_custodian(givers):
    assert not needs_guardian(AgeBand.MINOR_UNDER_15, givers)


@pytest.mark.parametrize("band", [AgeBand.MINOR_15_TO_17, AgeBand.ADULT])
def test_from_15_a_person_may_consent_alone(band):
    assert not needs_guardian(band, {SUBJECT})
    assert not needs_guardian(band, {SUBJECT, CUSTODIAN})


def test_only_the_confiding_persons_consent_covers_confided_data():
    assert covers_confided({SUBJECT, CONFIDING})
    assert covers_confided({CONFIDING})
    assert not covers_confided({SUBJECT, GUARDIAN, CUSTODIAN})
