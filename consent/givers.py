"""Who may give a consent: the rules a recording is held to, and every exchange after it.

- **A child under 15 does not consent alone.** § 36 SGB I lets a person apply for and receive
  social benefits on their own from the age of 15; below it, a legal guardian or a custodian
  must be among the givers. From 15 the person may consent alone (or with them).
- **Confided data needs the confiding person.** What a person confided to the youth welfare
  office for personal and educational help (§ 65 SGB VIII) may be passed on only with that
  person's consent: a flow or category the policy marks as confided is covered only by a
  consent a ``confiding_person`` gave.

Each rule has a code, which refusals name: on recording, and (for confided data) on exchange.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from consent.model import AgeBand, GiverRole


class GiverRule(StrEnum):
    """The rule a refusal names when the right person did not give the consent."""

    GUARDIAN_REQUIRED = "guardian_required"
    CONFIDING_PERSON_REQUIRED = "confiding_person_required"


GUARDIANS = frozenset({GiverRole.LEGAL_GUARDIAN, GiverRole.CUSTODIAN})

# Each rule in words, as refusals explain it (no personal data: the rule, not the case).
EXPLAINED = {
    GiverRule.GUARDIAN_REQUIRED: "a person under 15 does not consent alone (§ 36 SGB I): a "
    "legal_guardian or custodian must be among given_by",
    GiverRule.CONFIDING_PERSON_REQUIRED: "data confided to the youth welfare office passes "
    "only with the consent of the person who confided it (§ 65 SGB VIII): a confiding_person "
    "must be among given_by",
}


def needs_guardian(age_band: AgeBand, givers: Collection[GiverRole]) -> bool:
    """Whether a consent for a person of this age band lacks the guardian or custodian it
    needs: a child under 15 consents only together with (or through) one of them."""
    return age_band is AgeBand.MINOR_UNDER_15 and not GUARDIANS.intersection(givers)


def covers_confided(givers: Collection[GiverRole]) -> bool:
    """Whether a consent given by these persons covers data confided to the youth welfare
    office (§ 65 SGB VIII): only when the confiding person is among them."""
    return GiverRole.CONFIDING_PERSON in givers
