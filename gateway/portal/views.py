"""What the person's consent pages show, in plain words: each consent and each of its
permissions (which office may tell which office what, for what, and its state with its date),
and what a withdrawal would end.

A permission keeps one number for the life of its consent: its place in the consent's first
version. A partial withdrawal makes a new version without the permission (``gateway.consents``),
so places in later versions shift; the first version never changes, and a later one only ever
leaves grants out. "Permission 2" stays 2 after 1 is withdrawn, and a withdrawn one keeps its
number, so what a person is told on the phone still names the same thing.

Labels stay English msgids here; the templates translate them. Dates are written in the
person's language and the deployment's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from consent.model import Status, status_at
from gateway.agencies import repository as registry
from gateway.consents import repository as consents
from gateway.consents.errors import ConsentNotFound
from gateway.consents.tables import ConsentRecord, ConsentVersion
from gateway.consents.versions import is_uuid
from gateway.portal import labels
from gateway.portal.labels import Badge, Reader
from gateway.web.i18n import N_

# A state's date, after its badge: "Active until 4 June 2027", "Withdrawn on 7 June 2026".
UNTIL = N_("until %(date)s")
ON = N_("on %(date)s")


@dataclass(frozen=True)
class AgencyView:
    name: str  # the agency's display name in the registry
    kind: str  # label
    about: str | None = None  # what this kind of office does, one sentence (a msgid)


@dataclass(frozen=True)
class State:
    """A consent's or a permission's state, and the date that goes with it."""

    badge: Badge
    text: str  # UNTIL or ON, a msgid with %(date)s
    date: str

    @property
    def active(self) -> bool:
        return self.badge is labels.ACTIVE


@dataclass(frozen=True)
class PermissionView:
    number: int  # its place in the consent's first version (from 1): kept for good
    provider: AgencyView
    recipient: AgencyView
    categories: list[str]  # labels
    purposes: list[str]  # labels
    state: State
    withdrawable: bool  # on its own: active, and not the consent's last permission


@dataclass(frozen=True)
class ConsentView:
    id: str
    short: str  # the consent number's first part, for a heading and the phone
    version: int
    state: State
    recorded_on: str
    recorded_by: AgencyView
    valid_from: str
    valid_until: str
    permissions: list[PermissionView]  # every permission it ever had, by number

    @property
    def active(self) -> bool:
        return self.state.active

    @property
    def offices(self) -> list[AgencyView]:
        """Each office the consent names, once, the recording office first."""
        found = [self.recorded_by]
        for item in self.permissions:
            found += [office for office in (item.provider, item.recipient) if office not in found]
        return found


@dataclass(frozen=True)
class Confirmation:
    """The confirmation page of a withdrawal: what it would end."""

    consent: ConsentView
    permissions: list[PermissionView]  # those that would be withdrawn

    @property
    def possible(self) -> bool:
        return self.consent.active and all(item.state.active for item in self.permissions)


def my_consents(
    session: Session, subject_id: str, reader: Reader, now: datetime
) -> list[ConsentView]:
    """Every consent of the person: the active ones first, each group newest first."""
    found = [
        (consent, consents.versions(session, consent.id))
        for consent in consents.consents_of_subject(session, subject_id)
    ]
    names = agencies(session, agency_ids(found))
    views = [consent_view(consent, versions, names, reader, now) for consent, versions in found]
    newest_first = list(reversed(views))
    return sorted(newest_first, key=lambda view: not view.active)


def confirmation(
    session: Session,
    subject_id: str,
    consent_id: str,
    permission: int | None,
    reader: Reader,
    now: datetime,
) -> Confirmation:
    """What withdrawing the consent (or its permission number ``permission``) would end."""
    consent, versions = own(session, subject_id, consent_id)
    names = agencies(session, agency_ids([(consent, versions)]))
    view = consent_view(consent, versions, names, reader, now)
    if permission is None:
        return Confirmation(view, [item for item in view.permissions if item.state.active])
    if not 1 <= permission <= len(view.permissions):
        raise ConsentNotFound()
    return Confirmation(view, [view.permissions[permission - 1]])


def numbered_grant(
    session: Session, subject_id: str, consent_id: str, number: int
) -> dict[str, Any]:
    """The grant a permission number names: its place in the consent's first version, which
    never changes (so a page that has gone stale still names the same grant)."""
    _, versions = own(session, subject_id, consent_id)
    first = versions[0].grants
    if not 1 <= number <= len(first):
        raise ConsentNotFound()
    return dict(first[number - 1])


def own(
    session: Session, subject_id: str, consent_id: str
) -> tuple[ConsentRecord, Sequence[ConsentVersion]]:
    """The person's consent with its versions; anyone else's is not found."""
    consent = consents.consent(session, consent_id) if is_uuid(consent_id) else None
    if consent is None or consent.subject_id != subject_id:
        raise ConsentNotFound()
    return consent, consents.versions(session, consent.id)


def consent_view(
    consent: ConsentRecord,
    versions: Sequence[ConsentVersion],
    names: dict[str, AgencyView],
    reader: Reader,
    now: datetime,
) -> ConsentView:
    current = versions[-1]
    state = _state(current, reader, now)
    remaining = len(current.grants)
    permissions = []
    for number, (grant, last) in enumerate(last_versions(versions), start=1):
        own_state = state
        if last is not current:  # taken out by a partial withdrawal, when that version ended
            assert last.ended_at is not None  # a version with a successor has ended
            own_state = State(labels.WITHDRAWN, ON, reader.day(last.ended_at))
        permissions.append(
            PermissionView(
                number=number,
                provider=names[grant["from"]],
                recipient=names[grant["to"]],
                categories=[labels.category(code) for code in grant["categories"]],
                purposes=[labels.purpose(code) for code in grant["purposes"]],
                state=own_state,
                withdrawable=own_state.active and remaining > 1,
            )
        )
    return ConsentView(
        id=consent.id,
        short=short_number(consent.id),
        version=current.version,
        state=state,
        recorded_on=reader.day(versions[0].recorded_at),
        recorded_by=names[consent.recorded_by],
        valid_from=reader.day(current.valid_from),
        valid_until=reader.day(current.valid_until),
        permissions=permissions,
    )


def short_number(consent_id: str) -> str:
    """The consent number's first group (``3F2A9C1B``): short enough to read out on the phone,
    and what the office's system shows at the start of the full number."""
    return consent_id.split("-")[0].upper()


def last_versions(
    versions: Sequence[ConsentVersion],
) -> list[tuple[dict[str, Any], ConsentVersion]]:
    """Each grant of the first version, in its order, with the last version that held it."""
    return [
        (grant, next(version for version in reversed(versions) if grant in version.grants))
        for grant in versions[0].grants
    ]


def _state(version: ConsentVersion, reader: Reader, now: datetime) -> State:
    status = status_at(Status(version.status), version.valid_until, now)
    if status is Status.ACTIVE:
        return State(labels.ACTIVE, UNTIL, reader.day(version.valid_until))
    if status is Status.EXPIRED:
        return State(labels.EXPIRED, ON, reader.day(version.valid_until))
    assert version.ended_at is not None  # withdrawn (a current version is never superseded)
    return State(labels.status(status), ON, reader.day(version.ended_at))


def agency_ids(found: Iterable[tuple[ConsentRecord, Sequence[ConsentVersion]]]) -> set[str]:
    ids: set[str] = set()
    for consent, versions in found:
        ids.add(consent.recorded_by)
        for version in versions:
            ids.update(
                agency for grant in version.grants for agency in (grant["from"], grant["to"])
            )
    return ids


def agencies(session: Session, ids: set[str]) -> dict[str, AgencyView]:
    """Each agency by its display name and kind (an id the registry lost stays an id)."""
    found = registry.agencies(session, *ids)
    return {
        agency_id: AgencyView(
            found[agency_id].name,
            labels.kind(found[agency_id].kind),
            labels.about_kind(found[agency_id].kind),
        )
        if agency_id in found
        else AgencyView(agency_id, labels.UNKNOWN)
        for agency_id in ids
    }
