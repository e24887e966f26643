"""Readable names of the codes the DPO pages show (decisions, reasons, categories, purposes,
agency kinds). Unknown codes are shown as they are."""

from __future__ import annotations

from collections.abc import Mapping

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
        "emergency_reason_not_listed": N_("emergency reason not listed in the policy"),
        "emergency_window_closed": N_("emergency window closed"),
        "emergency_limit_reached": N_("daily limit of emergency queries reached"),
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
        "emergency_record": N_(
            "A record of an emergency access to protect a child is kept until its period ends."
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
        "foreigners_office": N_("foreigners' office"),
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


# -- the audit pages: events in groups, legal bases, actors --------------------------------

# Every event type of the log (gateway.audit.events), in the groups the search form shows.
_EVENTS: tuple[tuple[str, dict[str, str]], ...] = (
    (N_("Data requests and messages"), {
        "exchange.decided": N_("data request decided"),
        "message.sent": N_("message sent"),
        "message.fetched": N_("message fetched by the recipient"),
        "message.acknowledged": N_("message confirmed by the recipient"),
        "message.purged": N_("message not delivered, deleted"),
    }),
    (N_("Emergency access"), {
        "emergency.justification_read": N_("emergency justification read"),
        "emergency.reviewed": N_("emergency access reviewed"),
        "emergency.disclosure_deferred": N_("showing an emergency access to the person deferred"),
        "emergency.disclosure_resumed": N_("deferral ended: emergency access shown to the person"),
    }),
    (N_("Consents and the person's portal"), {
        "consent.recorded": N_("consent recorded"),
        "consent.refused": N_("consent not recorded (refused)"),
        "consent.withdrawn": N_("consent withdrawn"),
        "consent.superseded": N_("consent replaced by a new version"),
        "consent.expired": N_("consent expired"),
        "notice.acknowledged": N_("withdrawal notice answered"),
        "subject.reference_set": N_("file reference of a person added"),
        "portal_code.issued": N_("portal code issued"),
        "portal.signed_in": N_("person signed in to the portal"),
    }),
    (N_("A person's rights"), {
        "dpo.access_report": N_("access report looked up"),
        "rectification.requested": N_("person asked for a correction"),
        "rectification.answered": N_("request for a correction answered"),
        "subject.viewed": N_("restriction and erasure page viewed"),
        "subject.restricted": N_("processing restricted"),
        "subject.restriction_lifted": N_("restriction lifted"),
        "subject.hold_set": N_("legal hold set"),
        "subject.hold_lifted": N_("legal hold lifted"),
        "subject.erased": N_("person's data erased on request"),
        "subject.erasure_refused": N_("erasure refused"),
        "lifecycle.erased": N_("data erased at the end of its period"),
    }),
    (N_("Audit log and indicators"), {
        "audit.exported": N_("audit log downloaded"),
        "audit.verified": N_("audit log verified"),
        "audit.pruned": N_("old entries emptied (retention)"),
        "audit.entry_set_aside": N_("entry set aside, not placed in the log"),
        "indicators.aggregated": N_("indicators computed"),
        "indicators.read": N_("indicators viewed"),
    }),
    (N_("Data-protection officers"), {
        "dpo.signed_in": N_("DPO signed in"),
        "dpo.sign_in_failed": N_("DPO sign-in failed"),
        "dpo.signed_out": N_("DPO signed out"),
        "dpo_user.added": N_("DPO user added"),
        "dpo_user.disabled": N_("DPO user disabled"),
        "dpo_user.totp_reset": N_("one-time codes of a DPO user reset"),
    }),
    (N_("Agencies, keys and policies"), {
        "client.added": N_("client registered"),
        "client.disabled": N_("client disabled"),
        "client.scopes_changed": N_("client's rights changed"),
        "agency.updated": N_("agency details changed"),
        "policy.loaded": N_("policy set loaded"),
        "keys.rotated": N_("signing key changed"),
        "keys.message_key_rotated": N_("message key changed"),
        "keys.audit_key_rotated": N_("audit key changed"),
    }),
)  # fmt: skip
_TERMS["event"] = {code: label for _, events in _EVENTS for code, label in events.items()}
_TERMS["reason"]["reference_conflict"] = N_("the file references do not fit the persons known")
_TERMS["actor"] = {
    "operator": N_("operator (a command on the gateway's server)"),
    "person": N_("the person (portal)"),
}
_PARTLY_WITHDRAWN = N_("consent withdrawn in part (permissions withdrawn: %(count)s)")
_REPORT_DOWNLOADED = N_("access report downloaded")
_CONSENT_BASIS = N_("consent")
_STATUTE_BASIS = N_("by law: %(citation)s")


def event_groups() -> list[tuple[str, list[str]]]:
    """The event types in their groups (group names untranslated, as ``term`` takes codes)."""
    return [(group, list(events)) for group, events in _EVENTS]


def event(code: str, details: Mapping[str, object] | None = None) -> str:
    """An entry's event in words; a withdrawal of some permissions only says so, and a
    downloaded access report is told from a viewed one."""
    details = details or {}
    if code == "consent.withdrawn" and details.get("whole") is False:
        count = details.get("grants_withdrawn", "?")
        return gettext(_PARTLY_WITHDRAWN) % {"count": count}
    if code == "dpo.access_report" and "format" in details:
        return gettext(_REPORT_DOWNLOADED)
    return term("event", code)


def legal_basis(code: str | None) -> str:
    """``consent``, or ``statute: <citation>`` as the policy names it, in words."""
    if not code:
        return ""
    if code == "consent":
        return gettext(_CONSENT_BASIS)
    kind, _, citation = code.partition(": ")
    if kind == "statute" and citation:
        return gettext(_STATUTE_BASIS) % {"citation": citation}
    return code


# -- the emergency-access pages (gateway.dpo.emergency) -----------------------------------------

_TERMS["emergency_reason"] = {
    "acute_child_endangerment": N_("acute danger to a child"),
    "child_whereabouts_unknown": N_("a child's whereabouts unknown"),
}
_TERMS["state"] = {  # gateway.emergency.review.State
    "open": N_("open: emergency queries still possible"),
    "awaiting_review": N_("awaiting review"),
    "overdue": N_("review overdue"),
    "reviewed": N_("reviewed"),
}
_TERMS["verdict"] = {  # gateway.emergency.tables.Verdict
    "justified": N_("justified"),
    "not_justified": N_("not justified"),
}
# What was just done on an emergency access.
_TERMS["emergency_done"] = {
    "reviewed": N_("Your review is recorded."),
    "deferred": N_("Showing it to the person is deferred."),
    "resumed": N_("The person is shown this emergency access from now on."),
}
# Why an action on an emergency access was refused (gateway.emergency.review.ReviewError.code).
_REVIEW_ERRORS = {
    "comment_required": N_("Please write a comment: why it was, or was not, justified."),
    "comment_too_long": N_("The comment may be at most %(limit)s characters long."),
    "reason_required": N_("Please give a reason for deferring."),
    "reason_too_long": N_("The reason may be at most %(limit)s characters long."),
    "reviewed_already": N_("This emergency access has been reviewed already."),
    "date_past": N_("The date must lie in the future."),
    "date_too_late": N_(
        "Showing it may be deferred by at most %(days)s days from the emergency access, "
        "until %(latest)s at the latest."
    ),
    "date_invalid": N_("Please give a date."),
    "verdict_required": N_("Please choose whether it was justified."),
    "not_deferred": N_("Showing this emergency access is not deferred."),
    "not_kept": N_("The justification is no longer kept."),
}
_REFUSED = N_("This could not be done.")


def review_error(code: str, values: Mapping[str, object] | None = None) -> str:
    """Why an action on an emergency access was refused, in the page's language."""
    known = _REVIEW_ERRORS.get(code)
    if known is None:
        return gettext(_REFUSED)
    return gettext(known) % dict(values or {})
