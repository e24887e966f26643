"""How the portal names things for the person: plain words for the gateway's codes (marked
with ``N_`` here, translated where a template shows them), and dates in the person's language.

The persons reading these often have little German and none of the agencies' terms, so each
label says what it means for them, not what the law calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_datetime_format, get_timezone_name

from gateway.web.i18n import N_, Language

KINDS = {
    "foreigners_office": N_("foreigners' office"),
    "job_centre": N_("job centre"),
    "youth_welfare_office": N_("youth welfare office"),
    "social_office": N_("social welfare office"),
}

# What each kind of office does, in one plain sentence, for a person who meets it by name.
ABOUT_KINDS = {
    "foreigners_office": N_(
        "The foreigners' office decides about your right to stay: your residence permit, "
        "its extension, and whether you may work."
    ),
    "job_centre": N_(
        "The job centre helps you find work and pays basic income support to people who can work."
    ),
    "youth_welfare_office": N_(
        "The youth welfare office helps children, young people and their families, for example "
        "with care, upbringing or a guardian."
    ),
    "social_office": N_(
        "The social welfare office pays money for living to people who cannot work, and "
        "benefits for asylum seekers."
    ),
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
    # Refused emergency queries (§ 8a SGB VIII).
    "emergency_reason_not_listed": N_(
        "The rules do not allow an emergency request for this reason."
    ),
    "emergency_window_closed": N_("The time for emergency requests about you had ended."),
    "emergency_limit_reached": N_("The office had made too many emergency requests that day."),
}
UNKNOWN = N_("unknown")


@dataclass(frozen=True)
class Badge:
    """A state as the pages show it: its label, and its tone (a colour and a symbol, so that
    no state is told by colour alone)."""

    label: str
    tone: str  # active, ended, expired, refused, shared, sent, failed, pending


ACTIVE = Badge(STATUSES["active"], "active")
WITHDRAWN = Badge(STATUSES["withdrawn"], "ended")
EXPIRED = Badge(STATUSES["expired"], "expired")
REPLACED = Badge(STATUSES["superseded"], "expired")
_BADGES = {"active": ACTIVE, "withdrawn": WITHDRAWN, "expired": EXPIRED, "superseded": REPLACED}


def kind(code: str) -> str:
    return KINDS.get(code, UNKNOWN)


def category(code: str) -> str:
    return CATEGORIES.get(code, UNKNOWN)


def purpose(code: str) -> str:
    return PURPOSES.get(code, UNKNOWN)


def status(code: str) -> Badge:
    return _BADGES.get(code, Badge(UNKNOWN, "expired"))


def about_kind(code: str) -> str | None:
    return ABOUT_KINDS.get(code)


def reason(code: str | None) -> str | None:
    return REASONS.get(code) if code else None


# Long dates as each language writes them, except where that pattern ends in an abbreviation's
# full stop (Ukrainian, "... 2027 r." in Cyrillic): a sentence ending in the date would show two.
_DAY_PATTERNS = {"uk": "d MMMM y"}
_UTC = {"UTC", "Etc/UTC", "Etc/UCT", "GMT", "Etc/GMT"}


@dataclass(frozen=True)
class Reader:
    """Who reads a page: in which language, and in which time zone (the deployment's, named
    wherever a time is shown, as the person may be used to another)."""

    language: Language
    zone: ZoneInfo

    def day(self, moment: datetime) -> str:
        """A date as the reader's language writes it in full (``12. März 2026``)."""
        pattern = _DAY_PATTERNS.get(self.language.code, "long")
        return format_date(moment.astimezone(self.zone), pattern, locale=self.language.code)

    def moment(self, at: datetime) -> str:
        """A date and time to the minute, in local time, with the time zone's name."""
        local = at.astimezone(self.zone)
        pattern = str(get_datetime_format("medium", locale=self.language.code))
        return f"{pattern.format(self.time(local), self.day(local))} ({self.zone_name()})"

    def time(self, at: datetime) -> str:
        return format_time(at.astimezone(self.zone), "short", locale=self.language.code)

    def minute_after(self, at: datetime) -> str:
        """A time rounded up to the minute, with the zone's name: "try again at" never comes
        too early."""
        rounded = at.replace(second=0, microsecond=0)
        if rounded < at:
            rounded += timedelta(minutes=1)
        return f"{self.time(rounded)} ({self.zone_name()})"

    def zone_name(self) -> str:
        if self.zone.key in _UTC:
            return "UTC"
        return get_timezone_name(self.zone, width="long", locale=self.language.code)
