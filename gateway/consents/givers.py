"""Who gave a consent, held to the rules of ``consent.givers`` when it is recorded.

A refusal names the rule (``reason``) and each problem (``errors``), writes nothing, and is
audited as ``consent.refused``: the recording agency, the rule and the categories asked for,
no person (none is looked up before a consent holds together, so none is linked)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from consent.givers import EXPLAINED, GiverRule, covers_confided, needs_guardian
from gateway.agencies.tables import Agency
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.consents.errors import ConsentGiverMissing
from gateway.consents.models import ConsentIn, GrantIn
from gateway.consents.versions import Context
from gateway.policy.model import PolicySet


def check_givers(context: Context, body: ConsentIn, agencies: Mapping[str, Agency]) -> None:
    """Refuse the consent if someone who must give it is not among ``given_by``: a guardian or
    custodian for a person under 15, the confiding person for confided data a grant covers.
    ``agencies`` holds every agency the grants name (the recording checked them before)."""
    givers = {giver.role for giver in body.given_by}
    problems: list[tuple[GiverRule, dict[str, str]]] = []
    if needs_guardian(body.subject.age_band, givers):
        rule = GiverRule.GUARDIAN_REQUIRED
        problems.append((rule, {"path": "/body/given_by", "message": EXPLAINED[rule]}))
    if not covers_confided(givers):
        for index, grant in enumerate(body.grants):
            for category, citation in _confided(grant, agencies, context.policies):
                provider, recipient = agencies[grant.provider], agencies[grant.recipient]
                message = (
                    f"the policy marks {category} from a {provider.kind} to a {recipient.kind} "
                    f"as confided ({citation}): only a consent with a confiding_person among "
                    "given_by covers it"
                )
                problems.append(
                    (
                        GiverRule.CONFIDING_PERSON_REQUIRED,
                        {"path": f"/body/grants/{index}", "message": message},
                    )
                )
    if problems:
        raise _refusal(context, body, problems)


def _confided(
    grant: GrantIn, agencies: Mapping[str, Agency], policies: PolicySet
) -> Iterator[tuple[str, str]]:
    """(category, citation) of each category of the grant that a flow it rests on marks as
    confided (for any of its purposes)."""
    provider, recipient = agencies[grant.provider], agencies[grant.recipient]
    same_place = provider.municipality == recipient.municipality
    for category in dict.fromkeys(c.value for c in grant.categories):
        for purpose in dict.fromkeys(p.value for p in grant.purposes):
            flow = policies.consent_flow(
                provider.kind, recipient.kind, category, purpose, same_municipality=same_place
            )
            if flow is not None and (mark := flow.confided_in(category)) is not None:
                yield category, mark.citation
                break


def _refusal(
    context: Context, body: ConsentIn, problems: list[tuple[GiverRule, dict[str, str]]]
) -> ConsentGiverMissing:
    rules = list(dict.fromkeys(rule for rule, _ in problems))
    recorder = context.principal.client_id
    categories = sorted({category.value for grant in body.grants for category in grant.categories})
    return ConsentGiverMissing(
        "nothing was recorded: " + "; ".join(EXPLAINED[rule] for rule in rules),
        reason=rules[0].value,
        errors=[error for _, error in problems],
        audited=AuditEvent(
            EventType.CONSENT_REFUSED,
            actor=recorder,
            requester=recorder,
            caseworker=context.caseworker,
            categories=tuple(categories),
            decision=Decision.DENY,
            reason=rules[0].value,
            request_id=context.request_id,
            trace_id=context.trace_id,
            details={"rules": " ".join(rules)},
        ),
    )
