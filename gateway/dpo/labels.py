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
        "provider_invalid_response": N_("invalid answer from the provider"),
        "provider_timeout": N_("provider did not answer in time"),
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
