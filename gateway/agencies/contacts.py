"""How a person reaches an office: address, phone, e-mail, web page, opening hours, how to
get an interpreter, and the office's data-protection contact (Art. 13(1)(b) GDPR). Registered
by the operator with ``gateway agency add`` or ``gateway agency update``; shown in the portal
where the person needs them. Office contacts, not personal data: the operator writes what the
office publishes.

Free text is in the office's own words (it is shown as written, labelled in the reader's
language); each field is checked before anything is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.agencies.tables import AgencyContact
from gateway.texts import PLAIN_TEXT

_TEXT = re.compile(PLAIN_TEXT)
_PHONE = re.compile(r"^\+?[0-9][0-9 ()/.-]{2,38}$")
_EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
TEXT_LIMIT = 300


class ContactError(ValueError):
    """A contact field the registry refuses; the message is meant for the operator."""


@dataclass(frozen=True)
class Contact:
    """An office's contact details; a field not given is ``None``."""

    address: str | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    hours: str | None = None
    interpreter: str | None = None  # how to get an interpreter, in the office's words
    privacy_contact: str | None = None  # the office's data-protection officer
    privacy_email: str | None = None

    @property
    def phone_link(self) -> str | None:
        """``tel:`` with digits only (and a leading +), whatever the spacing written."""
        if self.phone is None:
            return None
        digits = re.sub(r"[^0-9]", "", self.phone)
        return f"tel:{'+' if self.phone.startswith('+') else ''}{digits}"

    @property
    def given(self) -> bool:
        return any(getattr(self, field.name) is not None for field in fields(self))


FIELDS = tuple(field.name for field in fields(Contact))


def checked(changes: Mapping[str, str | None]) -> dict[str, str | None]:
    """The changes with each value checked and trimmed; an empty value clears its field."""
    result: dict[str, str | None] = {}
    for name, value in changes.items():
        if name not in FIELDS:
            raise ContactError(f"no contact field {name!r}")
        value = value.strip() if value is not None else None
        result[name] = _check(name, value) if value else None
    return result


def _check(name: str, value: str) -> str:
    label = name.replace("_", " ")
    if len(value) > TEXT_LIMIT or not _TEXT.fullmatch(value):
        raise ContactError(
            f"{label}: at most {TEXT_LIMIT} characters, no control characters but line breaks"
        )
    if name == "phone" and not _PHONE.fullmatch(value):
        raise ContactError("phone: digits, spaces and ( ) / . - only, an optional leading +")
    if name in {"email", "privacy_email"} and not _EMAIL.fullmatch(value):
        raise ContactError(f"{label}: an e-mail address such as datenschutz@stadt.example")
    if name == "website":
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname:
            raise ContactError("website: an https:// address")
    return value


def contact_of(session: Session, agency_id: str) -> Contact:
    return contacts_of(session, {agency_id}).get(agency_id, Contact())


def contacts_of(session: Session, agency_ids: set[str]) -> dict[str, Contact]:
    """The contacts registered for these agencies (an agency without any is left out)."""
    if not agency_ids:
        return {}
    rows = session.scalars(select(AgencyContact).where(AgencyContact.agency_id.in_(agency_ids)))
    return {row.agency_id: Contact(**{name: getattr(row, name) for name in FIELDS}) for row in rows}


def change(session: Session, agency_id: str, changes: Mapping[str, str | None]) -> list[str]:
    """Apply checked ``changes`` to the agency's contact; the names of the fields that changed."""
    before = contact_of(session, agency_id)
    after = replace(before, **changes)
    changed = [name for name in FIELDS if getattr(before, name) != getattr(after, name)]
    if not changed:
        return []
    row = session.get(AgencyContact, agency_id)
    if row is None:
        row = AgencyContact(agency_id=agency_id)
        session.add(row)
    for name in changed:
        setattr(row, name, getattr(after, name))
    session.flush()
    return changed
