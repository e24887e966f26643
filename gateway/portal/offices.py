"""The portal's help page: how to reach the offices, with interpreter service and
data-protection contact, and what the person can do themselves.

Signed in, the page lists the person's own offices (the one that gave them their code first,
then every office named in their consents). Signed out (a person whose code did not work, who
has none, or who forgot it), it lists every enabled office registered with the gateway: an
office's contact is what it publishes, not personal data, and someone who cannot sign in needs
it most."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.agencies import contacts
from gateway.agencies import repository as registry
from gateway.agencies.contacts import Contact
from gateway.agencies.tables import ClientRole
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
    return _listed(session, ids, first=code_issued_by)


def every_office(session: Session) -> list[OfficeContact]:
    """Every enabled office of the registry, by name (a disabled one no longer takes part)."""
    ids = {
        client.id
        for client in registry.list_clients(session, role=ClientRole.AGENCY.value)
        if client.enabled and client.agency is not None
    }
    return _listed(session, ids)


def _listed(session: Session, ids: set[str], first: str | None = None) -> list[OfficeContact]:
    names = views.agencies(session, ids)
    found = contacts.contacts_of(session, ids)
    ordered = sorted(ids, key=lambda agency: (agency != first, names[agency].name, agency))
    return [
        OfficeContact(f"office-{agency}", names[agency], found.get(agency, Contact()))
        for agency in ordered
    ]
