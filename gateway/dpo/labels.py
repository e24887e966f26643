"""Readable names of the codes the DPO pages show (decisions, reasons, categories, purposes,
agency kinds). Unknown codes are shown as they are."""

from __future__ import annotations

from gateway.web.i18n import N_, gettext

_TERMS: dict[str, dict[str, str]] = {
    "decision": {
        "permit": N_("permitted"),
        "deny": N_("denied"),
    },
    "reason": {
        "no_policy": N_("no policy allows it"),
        "no_consent": N_("no consent"),
        "consent_withdrawn": N_("consent withdrawn"),
        "consent_expired": N_("consent expired"),
        "purpose_not_covered": N_("purpose not covered"),
        "category_not_covered": N_("category not covered"),
        "unknown_subject": N_("person unknown"),
        "agency_disabled": N_("agency disabled"),
        "confiding_person_required": N_("the confiding person's consent is missing"),
        "guardian_required": N_("a guardian's or custodian's consent is missing"),
        "processing_restricted": N_("processing restricted"),
        "provider_invalid_response": N_("invalid answer from the provider"),
        "provider_timeout": N_("provider did not answer in time"),
    },
    # Why an erasure on request is refused (gateway.persons.service.Refusal).
    "refusal": {
        "active_consent": N_("The person has an active consent. It must be withdrawn first."),
        "legal_hold": N_("A legal hold is set. Lift it first."),
        "processing_restricted": N_("The processing is restricted. Lift the restriction first."),
        "notice_unanswered": N_("A recipient has not yet answered a withdrawal notice."),
        "message_pending": N_("A message about the person is waiting for its recipient."),
        "rectification_unanswered": N_(
            "An office has not yet answered the person's request to correct what it passed on."
        ),
    },
    # What was just done (gateway.persons.service.Action).
    "done": {
        "restrict": N_("The processing is restricted now."),
        "unrestrict": N_("The restriction is lifted."),
        "hold": N_("A legal hold is set now."),
        "release_hold": N_("The legal hold is lifted."),
    },
    "category": {
        "residence_status": N_("residence status"),
        "benefit_status": N_("benefit status"),
        "integration_measures": N_("integration measures"),
        "youth_welfare_support": N_("youth welfare support"),
        "case_contact": N_("case contact"),
        "case_conference": N_("case conference"),
    },
    "purpose": {
        "case_management": N_("case management"),
        "labour_market_integration": N_("labour market integration"),
        "benefit_entitlement": N_("benefit entitlement"),
        "child_and_youth_welfare": N_("child and youth welfare"),
        "residence_procedure": N_("residence procedure"),
    },
    "kind": {
        "foreigners_office": N_("foreigners office"),
        "job_centre": N_("job centre"),
        "youth_welfare_office": N_("youth welfare office"),
        "social_office": N_("social welfare office"),
        "any": N_("any kind of agency"),
    },
}


def codes(kind: str) -> list[str]:
    """The known codes of a kind, for a form's choices."""
    return list(_TERMS[kind])


def term(kind: str, code: str | None) -> str:
    """The code's name in the language of the page being rendered (the code if unknown)."""
    if not code:
        return ""
    known = _TERMS[kind].get(code)
    return gettext(known) if known is not None else code
