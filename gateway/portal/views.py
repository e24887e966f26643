"""What the person's consent pages show, in plain words: each consent and each of its
permissions (which office may tell which office what, for what, until when, and whether that
still holds), a consent's receipt, and what a withdrawal would end.

Labels stay English msgids here; the templates translate them. Dates are written in the
person's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy.orm import Session

from consent.model import Status, status_at
from gateway.agencies import repository as registry
from gateway.consents import repository as consents
from gateway.consents.errors import ConsentNotFound
from gateway.consents.tables import ConsentRecord, ConsentVersion
from gateway.consents.versions import is_uuid
from gateway.portal import labels
from gateway.web.i18n import Language

JWKS_PATH = "/.well-known/jwks.json"


@dataclass(frozen=True)
class AgencyView:
    name: str  # the agency's display name in the registry
    kind: str  # label


@dataclass(frozen=True)
class PermissionView:
    number: int | None  # its place in the current version (from 1); None once withdrawn
    provider: AgencyView
    recipient: AgencyView
    categories: list[str]  # labels
    purposes: list[str]  # labels
    until: str
    status: str  # label
    ended_on: str | None = None  # when it was withdrawn, if it was


@dataclass(frozen=True)
class ConsentView:
    id: str
    version: int
    status: str  # label
    active: bool
    recorded_on: str
    recorded_by: AgencyView
    valid_from: str
    valid_until: str
    permissions: list[PermissionView]  # of the current version
    withdrawn: list[PermissionView]  # taken out earlier by partial withdrawals


@dataclass(frozen=True)
class VersionView:
    number: int
    status: str  # label
    recorded_on: str
    ended_on: str | None


@dataclass(frozen=True)
class ReceiptView:
    consent: ConsentView
    recorded_at: str
    receipt: str  # the compact JWS
    jwks_url: str
    versions: list[VersionView]


@dataclass(frozen=True)
class Confirmation:
    """The confirmation page of a withdrawal: what it would end."""

    consent: ConsentView
    permissions: list[PermissionView]  # those that would be withdrawn


def my_consents(
    session: Session, subject_id: str, language: Language, now: datetime
) -> list[ConsentView]:
    """Every consent of the person, newest first."""
    found = [
        (consent, consents.versions(session, consent.id))
        for consent in consents.consents_of_subject(session, subject_id)
    ]
    names = agencies(session, _agency_ids(found))
    views = [_consent(consent, versions, names, language, now) for consent, versions in found]
    return list(reversed(views))


def receipt(
    session: Session,
    subject_id: str,
    consent_id: str,
    issuer: str,
    language: Language,
    now: datetime,
) -> ReceiptView:
    consent, versions = _own(session, subject_id, consent_id)
    names = agencies(session, _agency_ids([(consent, versions)]))
    current = versions[-1]
    return ReceiptView(
        consent=_consent(consent, versions, names, language, now),
        recorded_at=labels.moment(current.recorded_at, language),
        receipt=current.receipt,
        jwks_url=issuer.rstrip("/") + JWKS_PATH,
        versions=[
            VersionView(
                number=version.version,
                status=labels.status(_status(version, now)),
                recorded_on=labels.day(version.recorded_at, language),
                ended_on=labels.day(version.ended_at, language) if version.ended_at else None,
            )
            for version in versions
        ],
    )


def confirmation(
    session: Session,
    subject_id: str,
    consent_id: str,
    permission: int | None,
    language: Language,
    now: datetime,
) -> Confirmation:
    """What withdrawing the consent (or its permission number ``permission``) would end."""
    consent, versions = _own(session, subject_id, consent_id)
    names = agencies(session, _agency_ids([(consent, versions)]))
    view = _consent(consent, versions, names, language, now)
    if permission is None:
        return Confirmation(view, view.permissions)
    if not 1 <= permission <= len(view.permissions):
        raise ConsentNotFound()
    return Confirmation(view, [view.permissions[permission - 1]])


def _own(
    session: Session, subject_id: str, consent_id: str
) -> tuple[ConsentRecord, Sequence[ConsentVersion]]:
    """The person's consent with its versions; anyone else's is not found."""
    consent = consents.consent(session, consent_id) if is_uuid(consent_id) else None
    if consent is None or consent.subject_id != subject_id:
        raise ConsentNotFound()
    return consent, consents.versions(session, consent.id)


def _consent(
    consent: ConsentRecord,
    versions: Sequence[ConsentVersion],
    names: dict[str, AgencyView],
    language: Language,
    now: datetime,
) -> ConsentView:
    current = versions[-1]
    status = _status(current, now)
    until = labels.day(current.valid_until, language)

    def permission(
        grant: dict[str, Any], number: int | None, state: Status, ended_at: datetime | None = None
    ) -> PermissionView:
        return PermissionView(
            number=number,
            provider=names[grant["from"]],
            recipient=names[grant["to"]],
            categories=[labels.category(code) for code in grant["categories"]],
            purposes=[labels.purpose(code) for code in grant["purposes"]],
            until=until,
            status=labels.status(state),
            ended_on=labels.day(ended_at, language) if ended_at else None,
        )

    withdrawn = [
        permission(grant, None, Status.WITHDRAWN, ended_at)
        for grant, ended_at in _taken_out(versions)
    ]
    return ConsentView(
        id=consent.id,
        version=current.version,
        status=labels.status(status),
        active=status is Status.ACTIVE,
        recorded_on=labels.day(versions[0].recorded_at, language),
        recorded_by=names[consent.recorded_by],
        valid_from=labels.day(current.valid_from, language),
        valid_until=until,
        permissions=[
            permission(grant, number, status)
            for number, grant in enumerate(current.grants, start=1)
        ],
        withdrawn=withdrawn,
    )


def _taken_out(versions: Sequence[ConsentVersion]) -> list[tuple[dict[str, Any], datetime]]:
    """Grants a partial withdrawal took out, with when: in one version, not in the next."""
    taken = []
    for older, newer in pairwise(versions):
        assert older.ended_at is not None  # a version with a successor has ended
        taken += [(grant, older.ended_at) for grant in older.grants if grant not in newer.grants]
    return taken


def _status(version: ConsentVersion, now: datetime) -> Status:
    return status_at(Status(version.status), version.valid_until, now)


def _agency_ids(found: Iterable[tuple[ConsentRecord, Sequence[ConsentVersion]]]) -> set[str]:
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
        agency_id: AgencyView(found[agency_id].name, labels.kind(found[agency_id].kind))
        if agency_id in found
        else AgencyView(agency_id, labels.UNKNOWN)
        for agency_id in ids
    }
