"""Recording, reading and withdrawing consents; the consent check for exchanges."""

from __future__ import annotations

import calendar
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from consent.check import Denial, VerifiedConsent, check
from consent.forms import FormError, load_form
from consent.model import Status, status_at
from gateway.agencies import repository as registry
from gateway.agencies.tables import Agency
from gateway.audit.events import AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.auth.dependencies import Principal
from gateway.consents import repository
from gateway.consents.errors import (
    ConsentNotActive,
    ConsentNotFound,
    ReferenceConflict,
    UnknownReference,
)
from gateway.consents.models import (
    ConsentIn,
    ConsentList,
    ConsentOut,
    GrantIn,
    GrantOut,
    PortalCode,
    Receipt,
    Recorded,
    VersionOut,
    WithdrawIn,
)
from gateway.consents.notices import notify_recipients
from gateway.consents.receipts import new_portal_code, sign_receipt
from gateway.consents.tables import ConsentRecord, ConsentVersion
from gateway.db.engine import Database
from gateway.errors import InvalidRequest
from gateway.keys.store import KeyStore
from gateway.policy.model import PolicySet


@dataclass(frozen=True)
class Context:
    """What a consent change needs besides its session: who asks, and the gateway's parts."""

    principal: Principal
    audit: AuditLog
    keys: KeyStore
    policies: PolicySet
    max_validity_months: int
    now: datetime
    caseworker: str | None = None
    request_id: str | None = None


# -- recording ------------------------------------------------------------------------------


def record(session: Session, context: Context, body: ConsentIn) -> Recorded:
    """Record a consent; refuse, writing nothing, anything that does not hold together."""
    recorder = context.principal.client_id
    agencies = _check_consent(session, context, body)
    notice = _notice(body)
    subject_id = _subject(session, body.subject.references, context.now)

    consent_id = str(uuid.uuid4())
    code, code_hash = new_portal_code()
    parties = {recorder} | {g.provider for g in body.grants} | {g.recipient for g in body.grants}
    repository.add_consent(
        session,
        ConsentRecord(
            id=consent_id,
            subject_id=subject_id,
            recorded_by=recorder,
            created_at=context.now,
            current_version=1,
            portal_code_hash=code_hash,
        ),
        parties,
    )
    version = ConsentVersion(
        consent_id=consent_id,
        version=1,
        status=Status.ACTIVE.value,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        grants=[_grant_document(grant) for grant in _merged(body.grants)],
        given_by=sorted({giver.role.value for giver in body.given_by}),
        notice=notice,
        evidence=body.evidence.model_dump(mode="json"),
        recorded_at=context.now,
        recorded_by=recorder,
        caseworker=context.caseworker,
        receipt="",
    )
    _store_version(session, context, version, subject_id)
    _audit(session, context, EventType.CONSENT_RECORDED, version, subject_id, agencies)
    return Recorded(
        consent_id=consent_id,
        version=1,
        status=Status.ACTIVE,
        receipt=version.receipt,
        portal_code=code,
    )


def _check_consent(session: Session, context: Context, body: ConsentIn) -> dict[str, Agency]:
    errors: list[dict[str, str]] = []
    now, recorder = context.now, context.principal.client_id
    if body.valid_from.tzinfo is None or body.valid_until.tzinfo is None:
        errors.append({"path": "/body/valid_from", "message": "times need a UTC offset"})
        raise InvalidRequest("the consent is not valid", errors=errors)
    if body.valid_until <= body.valid_from:
        errors.append({"path": "/body/valid_until", "message": "must be after valid_from"})
    elif body.valid_until > add_months(body.valid_from, context.max_validity_months):
        errors.append(
            {
                "path": "/body/valid_until",
                "message": f"a consent lasts at most {context.max_validity_months} months",
            }
        )
    if body.valid_until <= now:
        errors.append({"path": "/body/valid_until", "message": "must be in the future"})

    references = body.subject.references
    agencies: dict[str, Agency] = {}
    for agency_id in sorted(set(references) | _grant_agencies(body.grants)):
        agency = registry.get_agency(session, agency_id)
        if agency is None or not agency.client.enabled:
            errors.append(
                {"path": f"/body/subject/references/{agency_id}", "message": "unknown agency"}
            )
        else:
            agencies[agency_id] = agency
    if recorder not in _grant_agencies(body.grants):
        errors.append(
            {"path": "/body/grants", "message": "the recording agency is party to no grant"}
        )
    if recorder not in references:
        errors.append({"path": "/body/subject/references", "message": "give your own reference"})
    for index, grant in enumerate(body.grants):
        errors += _grant_problems(index, grant, references, agencies, context.policies)
    if errors:
        raise InvalidRequest("the consent cannot be recorded", errors=errors)
    return agencies


def _grant_problems(
    index: int,
    grant: GrantIn,
    references: dict[str, str],
    agencies: dict[str, Agency],
    policies: PolicySet,
) -> list[dict[str, str]]:
    path = f"/body/grants/{index}"
    if grant.provider == grant.recipient:
        return [{"path": path, "message": "an agency cannot grant to itself"}]
    problems = [
        {"path": f"{path}/{side}", "message": "no reference given for this agency"}
        for side, agency_id in (("from", grant.provider), ("to", grant.recipient))
        if agency_id not in references
    ]
    provider, recipient = agencies.get(grant.provider), agencies.get(grant.recipient)
    if provider is None or recipient is None:
        return problems
    same_place = provider.municipality == recipient.municipality
    for category in grant.categories:
        for purpose in grant.purposes:
            if (
                policies.consent_flow(
                    provider.kind, recipient.kind, category, purpose, same_municipality=same_place
                )
                is None
            ):
                problems.append(
                    {
                        "path": path,
                        "message": f"no policy flow lets a {provider.kind} give {category} "
                        f"to a {recipient.kind} for {purpose}"
                        + ("" if same_place else " across municipalities"),
                    }
                )
    return problems


def _notice(body: ConsentIn) -> dict[str, str | None]:
    notice = body.notice
    try:
        form = load_form(notice.form_id, notice.form_version, notice.language)
    except FormError as unknown:
        raise InvalidRequest(
            "the consent cannot be recorded",
            errors=[{"path": "/body/notice", "message": str(unknown)}],
        ) from None
    return {
        "form_id": form.form_id,
        "form_version": form.version,
        "language": form.language,
        "interpreter_language": notice.interpreter_language,
        "form_sha256": form.sha256,
    }


def _subject(session: Session, references: dict[str, str], now: datetime) -> str:
    """The one person these references name; created if none of them is known yet."""
    known = repository.subjects_of(session, references)
    subjects = set(known.values())
    if len(subjects) > 1:
        raise ReferenceConflict("the references belong to different persons")
    subject_id = subjects.pop() if subjects else str(uuid.uuid4())
    existing = repository.references_of(session, subject_id) if known else {}
    for agency_id, reference in references.items():
        if agency_id in existing and existing[agency_id] != reference:
            raise ReferenceConflict(f"{agency_id} already knows this person by another reference")
    if not known:
        repository.add_subject(session, subject_id, now)
    for agency_id, reference in sorted(references.items()):
        if agency_id not in existing:
            repository.add_reference(session, agency_id, reference, subject_id)
    return subject_id


# -- reading --------------------------------------------------------------------------------


def read(session: Session, principal: Principal, consent_id: str, now: datetime) -> ConsentOut:
    return _out(session, _visible(session, principal, consent_id), principal, now)


def list_for_reference(
    session: Session, principal: Principal, reference: str, now: datetime
) -> ConsentList:
    subject = repository.subjects_of(session, {principal.client_id: reference})
    if not subject:
        raise UnknownReference()
    consents = repository.consents_of_subject_for(
        session, subject[principal.client_id], principal.client_id
    )
    return ConsentList(consents=[_out(session, c, principal, now) for c in consents])


def receipt(session: Session, principal: Principal, consent_id: str) -> Receipt:
    consent = _visible(session, principal, consent_id)
    version = repository.version(session, consent.id, consent.current_version)
    assert version is not None
    return Receipt(consent_id=consent.id, version=version.version, receipt=version.receipt)


def reissue_portal_code(session: Session, principal: Principal, consent_id: str) -> PortalCode:
    consent = _visible(session, principal, consent_id, for_update=True)
    code, consent.portal_code_hash = new_portal_code()
    session.flush()
    return PortalCode(consent_id=consent.id, portal_code=code)


def set_own_reference(
    session: Session, context: Context, consent_id: str, reference: str
) -> ConsentOut:
    """Add or correct the calling agency's own reference for the person of a consent it is a
    party to. An agency can never set another agency's reference."""
    consent = _visible(session, context.principal, consent_id, for_update=True)
    agency = context.principal.client_id
    named = repository.subjects_of(session, {agency: reference})
    if named and named[agency] != consent.subject_id:
        raise ReferenceConflict("this reference already names another person")
    if not named:
        repository.set_reference(session, agency, consent.subject_id, reference)
        context.audit.record(
            session,
            AuditEvent(
                EventType.REFERENCE_SET,
                actor=agency,
                requester=agency,
                caseworker=context.caseworker,
                subject_id=consent.subject_id,
                consent_id=consent.id,
                request_id=context.request_id,
            ),
            now=context.now,
        )
    return _out(session, consent, context.principal, context.now)


def _visible(
    session: Session, principal: Principal, consent_id: str, *, for_update: bool = False
) -> ConsentRecord:
    """The consent if the caller is a party to it. Otherwise 404: its existence stays hidden."""
    consent = None
    if _is_uuid(consent_id):
        consent = repository.consent(session, consent_id, for_update=for_update)
    if consent is None or not repository.is_party(session, consent.id, principal.client_id):
        raise ConsentNotFound()
    return consent


def _out(
    session: Session, consent: ConsentRecord, principal: Principal, now: datetime
) -> ConsentOut:
    versions = repository.versions(session, consent.id)
    current = versions[-1]
    own = repository.references_of(session, consent.subject_id).get(principal.client_id)
    return ConsentOut(
        consent_id=consent.id,
        version=current.version,
        status=status_at(Status(current.status), current.valid_until, now),
        subject_ref=own,
        given_by=current.given_by,
        grants=[
            GrantOut(
                provider=grant["from"],
                recipient=grant["to"],
                categories=grant["categories"],
                purposes=grant["purposes"],
            )
            for grant in current.grants
        ],
        valid_from=current.valid_from,
        valid_until=current.valid_until,
        notice=current.notice,
        evidence=current.evidence,
        recorded_at=current.recorded_at,
        recorded_by=current.recorded_by,
        versions=[
            VersionOut(
                version=v.version,
                status=status_at(Status(v.status), v.valid_until, now),
                recorded_at=v.recorded_at,
                ended_at=v.ended_at,
            )
            for v in versions
        ],
    )


# -- withdrawing ----------------------------------------------------------------------------


def withdraw(session: Session, context: Context, consent_id: str, body: WithdrawIn) -> ConsentOut:
    """Withdraw the whole consent, or some grants (a new version without them), at once."""
    consent = _visible(session, context.principal, consent_id, for_update=True)
    current = repository.version(session, consent.id, consent.current_version)
    assert current is not None
    if status_at(Status(current.status), current.valid_until, context.now) is not Status.ACTIVE:
        raise ConsentNotActive()
    withdrawn = _matching_grants(current, body.grants) if body.grants else current.grants
    remaining = [grant for grant in current.grants if grant not in withdrawn]
    _end(
        current,
        context,
        body.channel.value,
        Status.WITHDRAWN if not remaining else Status.SUPERSEDED,
    )
    current.receipt = sign_receipt(context.keys, current, context.now)
    session.flush()
    _audit(
        session,
        context,
        EventType.CONSENT_WITHDRAWN,
        current,
        consent.subject_id,
        details={
            "channel": body.channel.value,
            "grants_withdrawn": len(withdrawn),
            "whole": not remaining,
        },
    )
    notify_recipients(session, consent.id, current.version, withdrawn, context.now)
    if remaining:
        successor = ConsentVersion(
            consent_id=consent.id,
            version=current.version + 1,
            status=Status.ACTIVE.value,
            valid_from=current.valid_from,
            valid_until=current.valid_until,
            grants=remaining,
            given_by=current.given_by,
            notice=current.notice,
            evidence=current.evidence,
            recorded_at=context.now,
            recorded_by=context.principal.client_id,
            caseworker=context.caseworker,
            receipt="",
        )
        _store_version(session, context, successor, consent.subject_id)
        consent.current_version = successor.version
        _audit(session, context, EventType.CONSENT_SUPERSEDED, current, consent.subject_id)
    session.flush()
    return _out(session, consent, context.principal, context.now)


def _matching_grants(version: ConsentVersion, wanted: list[GrantIn]) -> list[dict[str, object]]:
    found, errors = [], []
    for index, grant in enumerate(wanted):
        document = _grant_document(grant)
        if document not in version.grants:
            errors.append(
                {"path": f"/body/grants/{index}", "message": "no such grant in the consent"}
            )
        elif document not in found:
            found.append(document)
    if errors:
        raise InvalidRequest("nothing was withdrawn", errors=errors)
    return found


def _end(version: ConsentVersion, context: Context, channel: str, status: Status) -> None:
    version.status = status.value
    version.ended_at = context.now
    version.ended_by = context.principal.client_id
    version.withdrawal_channel = channel


def record_expiries(session: Session, audit: AuditLog, now: datetime, limit: int = 500) -> int:
    """Audit consents that have expired since the last look. Expiry itself needs no job (the
    check compares times); this only puts the transition into the log."""
    expired = repository.expired_unrecorded(session, now, limit)
    for version, subject_id in expired:
        version.expiry_recorded_at = now
        audit.record(
            session,
            AuditEvent(
                EventType.CONSENT_EXPIRED,
                subject_id=subject_id,
                legal_basis="consent",
                consent_id=version.consent_id,
                consent_version=version.version,
                details={"valid_until": version.valid_until.isoformat()},
            ),
            now=now,
        )
    session.flush()
    return len(expired)


def sweep_expiries(database: Database, audit: AuditLog) -> int:
    """One round of ``record_expiries`` in its own transaction (run by the background chores)."""
    with database.transaction() as session:
        return record_expiries(session, audit, datetime.now(UTC))


# -- the check ------------------------------------------------------------------------------


def check_consent(
    session: Session,
    *,
    subject_id: str,
    provider: str,
    recipient: str,
    category: str,
    purpose: str,
    at: datetime,
) -> VerifiedConsent | Denial:
    """The consent check an exchange runs: an indexed lookup, then the domain decision."""
    permissions = repository.permissions(session, subject_id, provider, recipient)
    return check(
        permissions,
        provider=provider,
        recipient=recipient,
        category=category,
        purpose=purpose,
        at=at,
    )


# -- shared ---------------------------------------------------------------------------------


def _store_version(
    session: Session, context: Context, version: ConsentVersion, subject_id: str
) -> None:
    version.receipt = sign_receipt(context.keys, version, context.now)
    permissions = {
        (grant["from"], grant["to"], category, purpose)
        for grant in version.grants
        for category in grant["categories"]
        for purpose in grant["purposes"]
    }
    repository.add_version(session, version, subject_id, permissions)


def _audit(
    session: Session,
    context: Context,
    event: EventType,
    version: ConsentVersion,
    subject_id: str,
    agencies: dict[str, Agency] | None = None,
    details: dict[str, str | int | bool] | None = None,
) -> None:
    categories = sorted({c for grant in version.grants for c in grant["categories"]})
    context.audit.record(
        session,
        AuditEvent(
            event,
            actor=context.principal.client_id,
            requester=context.principal.client_id,
            caseworker=context.caseworker,
            subject_id=subject_id,
            categories=tuple(categories),
            legal_basis="consent",
            consent_id=version.consent_id,
            consent_version=version.version,
            request_id=context.request_id,
            details=details or {"grants": len(version.grants)},
        ),
        now=context.now,
    )


def _grant_agencies(grants: Iterable[GrantIn]) -> set[str]:
    return {g.provider for g in grants} | {g.recipient for g in grants}


def _merged(grants: list[GrantIn]) -> list[GrantIn]:
    """Grants in a stable order, exact duplicates dropped."""
    unique = {json.dumps(_grant_document(g), sort_keys=True): g for g in grants}
    return sorted(unique.values(), key=lambda g: (g.provider, g.recipient, sorted(g.categories)))


def _grant_document(grant: GrantIn) -> dict[str, object]:
    return {
        "from": grant.provider,
        "to": grant.recipient,
        "categories": sorted({c.value for c in grant.categories}),
        "purposes": sorted({p.value for p in grant.purposes}),
    }


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
