"""How the portal names things for the person: plain words for the gateway's codes (marked
with ``N_`` here, translated where a template shows them), and dates in the person's language.

The persons reading these often have little German and none of the agencies' terms, so each
label says what it means for them, not what the law calls it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_datetime_format

from gateway.web.i18n import N_, Language

# The gateway serves German cities; their people read times in German local time.
TIME_ZONE = ZoneInfo("Europe/Berlin")

KINDS = {
    "foreigners_office": N_("foreigners' office"),
    "job_centre": N_("job centre"),
    "youth_welfare_office": N_("youth welfare office"),
    "social_office": N_("social welfare office"),
}

CATEGORIES = {
    "residence_status": N_("your residence status (which permit you have and until when)"),
    "benefit_status": N_("which benefits you get (money for living)"),
    "integration_measures": N_("your language and job courses"),
    "youth_welfare_support": N_("the help you get from the youth welfare office"),
    "case_contact": N_("who your contact person at the office is"),
    "case_conference": N_("invitations to meetings about your case"),
}

PURPOSES = {
    "case_management": N_("to plan your support together"),
    "labour_market_integration": N_("to help you find work"),
    "benefit_entitlement": N_("to check which benefits you can get"),
    "child_and_youth_welfare": N_("to support your children and family"),
    "residence_procedure": N_("to decide about your right to stay"),
}

STATUSES = {
    "active": N_("Active"),
    "withdrawn": N_("Withdrawn"),
    "expired": N_("Expired"),
    "superseded": N_("Replaced by a newer version"),
}

# Why a request was refused, for the person (the reasons of PRODUCT.md §4.2 and the provider
# failures the exchange records).
REASONS = {
    "no_policy": N_("No rule allows this."),
    "no_consent": N_("You had not agreed to this."),
    "consent_withdrawn": N_("You had withdrawn your consent."),
    "consent_expired": N_("Your consent had ended."),
    "purpose_not_covered": N_("You had not agreed to this purpose."),
    "category_not_covered": N_("You had not agreed to share this information."),
    "unknown_subject": N_("The other office has no file about you."),
    "agency_disabled": N_("One of the offices may not use the system at the moment."),
    "confiding_person_required": N_(
        "This was told to the youth welfare office in confidence, and the person who told it "
        "had not agreed to share it."
    ),
    "processing_restricted": N_(
        "The data protection officer has stopped all sharing of your data for now."
    ),
    "provider_timeout": N_("The other office's system did not answer in time."),
    "provider_unreachable": N_("The other office's system could not be reached."),
    "provider_invalid_response": N_("The other office's system sent wrong data."),
    "message_expired": N_("Nobody collected the message in time."),
}
UNKNOWN = N_("unknown")


def kind(code: str) -> str:
    return KINDS.get(code, UNKNOWN)


def category(code: str) -> str:
    return CATEGORIES.get(code, UNKNOWN)


def purpose(code: str) -> str:
    return PURPOSES.get(code, UNKNOWN)


def status(code: str) -> str:
    return STATUSES.get(code, UNKNOWN)


def reason(code: str | None) -> str | None:
    return REASONS.get(code) if code else None


def day(moment: datetime, language: Language) -> str:
    """A date as the person's language writes it in full (``12. März 2026``)."""
    return format_date(moment.astimezone(TIME_ZONE), "long", locale=language.code)


def moment(at: datetime, language: Language) -> str:
    """A date and time to the minute, in local time, as the person's language writes it."""
    local = at.astimezone(TIME_ZONE)
    time = format_time(local, "short", locale=language.code)
    pattern = str(get_datetime_format("medium", locale=language.code))
    return pattern.format(time, day(local, language))
