"""Problem types of releases."""

from __future__ import annotations

from typing import ClassVar

from consent.givers import EXPLAINED, GiverRule
from gateway.errors import GatewayError, ProblemType, problem_type

EXCHANGE_DENIED = problem_type(
    "exchange-denied",
    "Exchange denied",
    403,
    "No policy flow and legal basis cover this exchange or message now; `reason` says why "
    "(`confiding_person_required`: the data is confided to the youth welfare office, § 65 SGB "
    "VIII, and no covering consent was given by the person who confided it; "
    "`processing_restricted`: a data-protection officer restricted the processing of the "
    "person's data, Art. 18 GDPR).",
)
# Reasons that are a rule on who gave the consent, and the rule in words.
_RULES = {GiverRule.CONFIDING_PERSON_REQUIRED.value: EXPLAINED[GiverRule.CONFIDING_PERSON_REQUIRED]}


def refused(what: str, reason: str) -> str:
    """A refusal's detail: what was refused and its reason, with the rule in words where a
    rule on who gave the consent decided it. Never personal data."""
    rule = _RULES.get(reason)
    return f"{what}: {reason}" + (f" ({rule})" if rule else "")


class ExchangeDenied(GatewayError):
    kind: ClassVar[ProblemType] = EXCHANGE_DENIED
