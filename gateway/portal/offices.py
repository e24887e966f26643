"""The portal's help page: how the person reaches each office they deal with (the one that
gave them their code first, then every office named in their consents), with interpreter
service and data-protection contact, and what they can do themselves."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.agencies import contacts
from gateway.agencies.contacts import Contact
from gateway.consents import repository as consents
from gateway.portal import views
from gateway.portal.views import AgencyView


@dataclass(frozen=True)
class OfficeContact:
    anchor: str  # the office's place on the help page (its registry id: not personal)
    office: AgencyView
    contact: Contact


def offices(session: Session, subject_id: str, code_issued_by: str) -> list[OfficeContact]:
    """The person's offices, the code's issuer first, then by name."""
    ids = {code_issued_by}
    for consent in consents.consents_of_subject(session, subject_id):
        ids.add(consent.recorded_by)
        for version in consents.versions(session, consent.id):
            ids.update(grant[end] for grant in version.grants for end in ("from", "to"))
    names = views.agencies(session, ids)
    found = contacts.contacts_of(session, ids)
    ordered = sorted(ids, key=lambda agency: (agency != code_issued_by, names[agency].name))
    return [
        OfficeContact(f"office-{agency}", names[agency], found.get(agency, Contact()))
        for agency in ordered
    ]
