"""Reading and withdrawing consents, their expiry, and the consent check for exchanges.

Recording lives in ``recording.py``; what both share in ``versions.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from consent.check import Denial, VerifiedConsent, check
from consent.model import Grant, GrantChange, Status, status_at
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
    ConsentList,
    ConsentOut,
    GrantIn,
    GrantOut,
    PortalCode,
    Receipt,
    VersionOut,
    WithdrawIn,
)
from gateway.consents.notices import notify_recipients
from gateway.consents.receipts import new_portal_code, sign_receipt
from gateway.consents.tables import ConsentRecord, ConsentVersion
from gateway.consents.versions import (
    Context,
    audit_change,
    grant_document,
    is_uuid,
    store_version,
)
from gateway.db.engine import Database
from gateway.errors import InvalidRequest
from gateway.messages.lifecycle import withhold_withdrawn

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
    if is_uuid(consent_id):
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
    audit_change(
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
    change = GrantChange(
        withdrawn=[Grant.from_document(grant) for grant in withdrawn],
        remaining=[Grant.from_document(grant) for grant in remaining],
    )
    delivered = withhold_withdrawn(
        session, context.audit, consent.id, change, context.now, context.principal.client_id
    )
    notify_recipients(session, consent.id, current.version, change, delivered, context.now)
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
        store_version(session, context, successor, consent.subject_id)
        consent.current_version = successor.version
        audit_change(session, context, EventType.CONSENT_SUPERSEDED, current, consent.subject_id)
    session.flush()
    return _out(session, consent, context.principal, context.now)


def _matching_grants(version: ConsentVersion, wanted: list[GrantIn]) -> list[dict[str, object]]:
    found, errors = [], []
    for index, grant in enumerate(wanted):
        document = grant_document(grant)
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
