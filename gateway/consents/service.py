"""Reading and withdrawing consents, and recording their expiry.

Recording lives in ``recording.py``; what both share in ``versions.py``. What a withdrawal sets
off elsewhere (messages withheld, recipients told) is done through ``effects.py``; the check of
consents for a release is the release core's (``gateway.release.decision``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from consent.model import AgeBand, Grant, GrantChange, Status, WithdrawalChannel, status_at
from gateway.audit.events import PERSON, AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.auth.dependencies import Principal
from gateway.consents import dpv, portal_codes, repository
from gateway.consents.effects import Withdrawal, WithdrawalEffects
from gateway.consents.errors import (
    ConsentNotActive,
    ConsentNotFound,
    ReferenceConflict,
    UnknownReference,
)
from gateway.consents.models import (
    ConsentList,
    ConsentOut,
    DpvConsentRecord,
    GrantIn,
    GrantOut,
    PortalCode,
    Receipt,
    VersionOut,
    WithdrawIn,
)
from gateway.consents.portal_codes import LiveCode
from gateway.consents.receipts import sign_receipt
from gateway.consents.tables import ConsentRecord, ConsentVersion
from gateway.consents.versions import (
    Actor,
    Context,
    grant_document,
    is_uuid,
    permissions_of,
    record_change,
)
from gateway.db.engine import Database
from gateway.errors import InvalidRequest
from gateway.keys.store import KeyStore

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


def record_document(
    session: Session, principal: Principal, consent_id: str, issuer: str, now: datetime
) -> DpvConsentRecord:
    """The consent as a W3C DPV consent record, for an agency party to it: the person appears
    by the caller's own reference, as in ``read``."""
    consent = _visible(session, principal, consent_id)
    own = repository.references_of(session, consent.subject_id).get(principal.client_id)
    return dpv.record(session, consent, issuer=issuer, now=now, reference=own)


def own_record_document(
    session: Session, subject_id: str, consent_id: str, issuer: str, now: datetime
) -> DpvConsentRecord:
    """One of the person's own consents as a W3C DPV consent record (the portal's download):
    without any agency's reference for them."""
    consent = _of_subject(session, subject_id, consent_id)
    return dpv.record(session, consent, issuer=issuer, now=now, reference=None)


def receipt(session: Session, principal: Principal, consent_id: str) -> Receipt:
    consent = _visible(session, principal, consent_id)
    version = repository.version(session, consent.id, consent.current_version)
    assert version is not None
    return Receipt(consent_id=consent.id, version=version.version, receipt=version.receipt)


def reissue_portal_code(session: Session, context: Context, consent_id: str) -> PortalCode:
    """A new code for the person, given by the agency that recorded the consent (a code is
    reissued when it was lost, perhaps to someone else); the person's earlier codes, and the
    portal sessions they opened, end. Any other agency is told the consent does not exist; a
    consent no longer active gives no code (it would end the person's own and open their
    portal to an agency whose consent is over)."""
    consent = _visible(session, context.principal, consent_id, for_update=True)
    if consent.recorded_by != context.principal.client_id:
        raise ConsentNotFound()
    current = _current(session, consent)
    if status_at(Status(current.status), current.valid_until, context.now) is not Status.ACTIVE:
        raise ConsentNotActive()
    code = portal_codes.issue(
        session, context.audit, consent, context.issuer(), context.now, reissue=True
    )
    return PortalCode(consent_id=consent.id, portal_code=code)


def set_own_reference(
    session: Session, context: Context, consent_id: str, reference: str
) -> ConsentOut:
    """Add or correct the calling agency's own reference for the person of a consent it is a
    party to. An agency can never set another agency's reference."""
    consent = _visible(session, context.principal, consent_id, for_update=True)
    agency = context.principal.client_id
    named = repository.subjects_of(session, {agency: reference}, hold=True)
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
                trace_id=context.trace_id,
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


def _of_subject(
    session: Session, subject_id: str, consent_id: str, *, for_update: bool = False
) -> ConsentRecord:
    """The consent if it is about this person (the portal's caller). Otherwise 404."""
    consent = None
    if is_uuid(consent_id):
        consent = repository.consent(session, consent_id, for_update=for_update)
    if consent is None or consent.subject_id != subject_id:
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
        subject_age_band=_age_band(current.subject_age_band),
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


def _age_band(stored: str | None) -> AgeBand | None:
    return AgeBand(stored) if stored is not None else None


# -- withdrawing ----------------------------------------------------------------------------


class OwnWithdrawal(StrEnum):
    """What came of a person's own withdrawal in the portal."""

    DONE = "done"
    GONE = "gone"  # the grant had been withdrawn already: nothing withdrawn
    ENDED = "ended"  # it was no longer active: nothing left to withdraw


def withdraw(
    session: Session,
    context: Context,
    consent_id: str,
    body: WithdrawIn,
    effects: WithdrawalEffects,
) -> ConsentOut:
    """An agency withdraws, on the person's word, the whole consent or some grants (a new
    version without them), at once."""
    consent = _visible(session, context.principal, consent_id, for_update=True)
    context = context.at_lock()  # after any release that held the consent: it committed first
    current = _current(session, consent)
    if status_at(Status(current.status), current.valid_until, context.now) is not Status.ACTIVE:
        raise ConsentNotActive()
    withdrawn = _matching_grants(current, body.grants) if body.grants else list(current.grants)
    _withdraw(
        session,
        consent,
        current,
        withdrawn,
        channel=body.channel,
        by=Actor.of(context),
        audit=context.audit,
        keys=context.keys,
        effects=effects,
        now=context.now,
    )
    return _out(session, consent, context.principal, context.now)


def withdraw_own(
    session: Session,
    audit: AuditLog,
    keys: KeyStore,
    *,
    subject_id: str,
    consent_id: str,
    grant: dict[str, Any] | None,
    portal_code: LiveCode,
    effects: WithdrawalEffects,
    request_id: str | None = None,
) -> OwnWithdrawal:
    """The person withdraws one of their own consents in the portal, or one grant of it (the
    grant itself, as the consent's first version holds it: a stable identity, where a place in
    the current version shifts with every partial withdrawal), at once. ``portal_code`` is the
    issue of the code their session was opened with: the audit entries name it. It is dated
    when the consent is locked: after any release that held it, which committed first."""
    consent = _of_subject(session, subject_id, consent_id, for_update=True)
    now = datetime.now(UTC)
    current = _current(session, consent)
    if status_at(Status(current.status), current.valid_until, now) is not Status.ACTIVE:
        return OwnWithdrawal.ENDED
    withdrawn = list(current.grants)
    if grant is not None:
        if grant not in current.grants:
            return OwnWithdrawal.GONE
        withdrawn = [grant]
    _withdraw(
        session,
        consent,
        current,
        withdrawn,
        channel=WithdrawalChannel.PORTAL,
        by=Actor(PERSON, request_id=request_id, portal_code=portal_code),
        audit=audit,
        keys=keys,
        effects=effects,
        now=now,
    )
    return OwnWithdrawal.DONE


def _withdraw(
    session: Session,
    consent: ConsentRecord,
    current: ConsentVersion,
    withdrawn: list[dict[str, object]],
    *,
    channel: WithdrawalChannel,
    by: Actor,
    audit: AuditLog,
    keys: KeyStore,
    effects: WithdrawalEffects,
    now: datetime,
) -> None:
    """What every withdrawal does, whoever asks: end the current version (and, when grants
    remain, start one with only those), set off its effects (the messages that lose their
    ground withheld, the agencies that received data under it told), and audit each step,
    all in this transaction."""
    remaining = [grant for grant in current.grants if grant not in withdrawn]
    current.status = (Status.WITHDRAWN if not remaining else Status.SUPERSEDED).value
    current.ended_at, current.ended_by, current.withdrawal_channel = now, by.actor, channel.value
    current.receipt = sign_receipt(keys, current, now)
    session.flush()
    details = {"channel": channel.value, "grants_withdrawn": len(withdrawn), "whole": not remaining}
    record_change(
        session, audit, EventType.CONSENT_WITHDRAWN, current, consent.subject_id, by, now, details
    )
    change = GrantChange(
        withdrawn=[Grant.from_document(grant) for grant in withdrawn],
        remaining=[Grant.from_document(grant) for grant in remaining],
    )
    code = by.portal_code.details if by.portal_code is not None else None
    effects(session, Withdrawal(consent.id, current.version, change, now, by.actor, code))
    if remaining:
        successor = ConsentVersion(
            consent_id=consent.id,
            version=current.version + 1,
            status=Status.ACTIVE.value,
            valid_from=current.valid_from,
            valid_until=current.valid_until,
            grants=remaining,
            given_by=current.given_by,
            subject_age_band=current.subject_age_band,
            notice=current.notice,
            evidence=current.evidence,
            recorded_at=now,
            recorded_by=by.actor,
            caseworker=by.caseworker,
            receipt="",
        )
        successor.receipt = sign_receipt(keys, successor, now)
        repository.add_version(session, successor, consent.subject_id, permissions_of(remaining))
        consent.current_version = successor.version
        record_change(
            session, audit, EventType.CONSENT_SUPERSEDED, current, consent.subject_id, by, now
        )
    session.flush()


def _current(session: Session, consent: ConsentRecord) -> ConsentVersion:
    current = repository.version(session, consent.id, consent.current_version)
    assert current is not None
    return current


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
