"""Readable names of the fields of the exchanged categories (``schemas/``), for the records of
processing: a DPO reads "may work", not ``employment_permitted``. A field of one category only is
named by its category and field; a field name several categories share (``status``, ``since``)
means the same in each. Unknown fields are shown as they are."""

from __future__ import annotations

from gateway.web.i18n import N_, gettext

_SHARED = {
    "status": N_("status"),
    "since": N_("since"),
    "until": N_("until"),
    "agency": N_("agency"),
    "phone": N_("phone number"),
    "email": N_("e-mail address"),
}
_BY_CATEGORY = {
    "residence_status": {
        "title": N_("residence title"),
        "legal_provision": N_("legal provision of the title"),
        "valid_from": N_("valid from"),
        "valid_until": N_("valid until"),
        "employment_permitted": N_("may work"),
        "residence_obligation": N_("where the person must live"),
        "integration_course_obligation": N_("must attend an integration course"),
    },
    "benefit_status": {
        "benefit": N_("kind of benefit"),
        "household_size": N_("persons in the household"),
    },
    "integration_measures": {
        "type": N_("kind of measure"),
        "start": N_("start"),
        "end": N_("end"),
        "level": N_("language level"),
    },
    "youth_welfare_support": {
        "support_type": N_("kind of support"),
        "lead_contact": N_("lead contact person (name, phone, e-mail)"),
    },
    "case_contact": {
        "caseworker_name": N_("caseworker's name"),
        "role": N_("role in the case"),
    },
    "case_conference": {
        "starts_at": N_("date and time"),
        "location": N_("place"),
        "topic": N_("topic"),
        "participants": N_("participating agencies"),
    },
}


def field_name(category: str, field: str) -> str:
    """The field's name in the language of the page being rendered (the field if unknown)."""
    known = _BY_CATEGORY.get(category, {}).get(field) or _SHARED.get(field)
    return gettext(known) if known is not None else field
