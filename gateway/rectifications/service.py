"""Rectification notices (Art. 16 GDPR): the person flags, in the portal, information an agency
passed on about them as wrong (``flag``); the notice goes to the agency the information came
from, the provider, through the gateway: it lists its notices (``for_provider``) with its own
reference for the person and the person's text, and answers whether it corrected the
information (``acknowledge``). The person sees the answer in the portal.

What the person flags is a release of the ledger (``gateway.release.ledger``): a category an
agency passed on to another at a time. The information is the provider's however often it was
passed on, so a person has at most one open notice per provider and category.

The person's text is personal data: it is stored only sealed (AES-256-GCM under a data key the
key folder's key wraps, as message payloads are), opened only for the provider, and deleted
when the provider answers. The audit log records each flag and answer under the person's
pseudonym, with the text only as a keyed digest (``payload``), never the text itself.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785
from sqlalchemy.orm import Session

from gateway.audit.events import PERSON, AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.auth.dependencies import Principal
from gateway.consents import repository as consents
from gateway.consents.versions import is_uuid
from gateway.errors import InvalidRequest
from gateway.messages.sealing import MessageKeys, SealBroken, Sealed
from gateway.rectifications import repository
from gateway.rectifications.errors import (
    RectificationAnswered,
    RectificationNotFound,
    ReleaseNotFound,
)
from gateway.rectifications.models import (
    TEXT_LIMIT,
    RectificationAck,
    RectificationList,
    RectificationOut,
)
from gateway.rectifications.tables import Outcome, Rectification
from gateway.release import ledger
from gateway.release.tables import Kind


class TextTooLong(ValueError):
    """The person's text is longer than ``TEXT_LIMIT`` characters; nothing was stored."""


@dataclass(frozen=True)
class Flagged:
    rectification: Rectification
    new: bool  # False: an open notice about this information was there already


def plain_text(text: str) -> str | None:
    """The person's text as stored: control characters other than line breaks and tabs left
    out, line breaks unified, surrounding space trimmed; None when nothing is left."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc").strip()
    if len(kept) > TEXT_LIMIT:
        raise TextTooLong()
    return kept or None


def released_about(session: Session, subject_id: str) -> Sequence[Any]:
    """What offices passed on about the person (the ledger's rows, newest first); a message
    fetched several times is one row, its first fetch."""
    seen: set[tuple[str, str]] = set()
    rows = []
    for row in reversed(ledger.received_about(session, subject_id)):
        key = (row.message_id if row.kind == Kind.MESSAGE_FETCHED else row.id, row.category)
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return list(reversed(rows))


def flag(
    session: Session,
    audit: AuditLog,
    sealing: MessageKeys,
    *,
    subject_id: str,
    release_id: str,
    category: str,
    text: str,
    now: datetime,
    code_details: Mapping[str, str],
    request_id: str | None = None,
) -> Flagged:
    """The person says that ``category`` of the release ``release_id`` (theirs) is wrong.
    Raises ``ReleaseNotFound`` for anything not passed on about this person, ``TextTooLong``
    for a text over the limit; in both cases nothing is stored."""
    words = plain_text(text)
    release = _own_release(session, subject_id, release_id, category)
    consents.lock_subject(session, subject_id)  # one open notice per information, races too
    found = repository.open_one(session, subject_id, release.provider, category)
    if found is not None:
        return Flagged(found, new=False)
    rectification = Rectification(
        id=str(uuid.uuid4()),
        subject_id=subject_id,
        provider=release.provider,
        recipient=release.recipient,
        category=category,
        release_id=release.id,
        released_at=release.released_at,
        consent_id=release.consent_id,
        flagged_at=now,
    )
    if words is not None:
        sealed = sealing.seal(words.encode(), associated_data(rectification))
        rectification.key_id, rectification.wrapped_key = sealed.key_id, sealed.wrapped_key
        rectification.nonce, rectification.ciphertext = sealed.nonce, sealed.ciphertext
    repository.add(session, rectification)
    audit.record(
        session,
        AuditEvent(
            EventType.RECTIFICATION_REQUESTED,
            actor=PERSON,
            requester=release.recipient,
            provider=release.provider,
            subject_id=subject_id,
            categories=(category,),
            consent_id=release.consent_id,
            payload=words.encode() if words is not None else None,
            request_id=request_id,
            details={"rectification": rectification.id, "text": words is not None, **code_details},
        ),
        now=now,
    )
    return Flagged(rectification, new=True)


def _own_release(session: Session, subject_id: str, release_id: str, category: str) -> Any:
    if is_uuid(release_id):
        for row in ledger.received_about(session, subject_id):
            if row.id == release_id and row.category == category:
                return row
    raise ReleaseNotFound()


def of_subject(session: Session, subject_id: str) -> Sequence[Rectification]:
    return repository.of_subject(session, subject_id)


# -- the provider's side -----------------------------------------------------------------------


def listing(
    session: Session, sealing: MessageKeys, principal: Principal, include_answered: bool
) -> RectificationList:
    """The notices addressed to the calling agency, each with its own reference for the person
    and the person's text (while open)."""
    found = repository.for_provider(session, principal.client_id, include_answered)
    return RectificationList(
        rectifications=[_out(session, notice, text_of(notice, sealing)) for notice in found]
    )


def answer(
    session: Session,
    audit: AuditLog,
    principal: Principal,
    rectification_id: str,
    body: RectificationAck,
    now: datetime,
) -> RectificationOut:
    notice = acknowledge(
        session, audit, principal, rectification_id, body.outcome, body.reason, now
    )
    return _out(session, notice, None)


def _out(session: Session, notice: Rectification, text: str | None) -> RectificationOut:
    # Only the provider's own reference: the notice is the provider's, and so is the reference.
    reference = consents.references_of(session, notice.subject_id).get(notice.provider)
    return RectificationOut(
        rectification_id=notice.id,
        subject_ref=reference,
        category=notice.category,
        recipient=notice.recipient,
        released_at=notice.released_at,
        flagged_at=notice.flagged_at,
        text=text,
        answered_at=notice.answered_at,
        outcome=Outcome(notice.outcome) if notice.outcome else None,
        reason=notice.reason,
    )


def text_of(rectification: Rectification, sealing: MessageKeys) -> str | None:
    """The person's text, opened (for the provider only); None without one, once answered, or
    if it no longer opens (its key is gone)."""
    sealed = _sealed(rectification)
    if sealed is None:
        return None
    try:
        return sealing.open(sealed, associated_data(rectification)).decode()
    except SealBroken:
        return None


def acknowledge(
    session: Session,
    audit: AuditLog,
    principal: Principal,
    rectification_id: str,
    outcome: Outcome,
    reason: str | None,
    now: datetime,
) -> Rectification:
    """The provider's answer; the person's text is deleted with it. The same answer again
    changes nothing; a different one is refused."""
    if outcome is Outcome.NOT_CORRECTED and not reason:
        raise InvalidRequest(
            errors=[{"path": "/body/reason", "message": "say why it is not corrected"}]
        )
    found = (
        repository.get(session, rectification_id, for_update=True)
        if is_uuid(rectification_id)
        else None
    )
    if found is None or found.provider != principal.client_id:
        raise RectificationNotFound()
    if found.answered_at is not None:
        if (found.outcome, found.reason) != (outcome.value, reason):
            raise RectificationAnswered()
        return found
    found.answered_at, found.outcome, found.reason = now, outcome.value, reason
    found.key_id = found.wrapped_key = found.nonce = found.ciphertext = None
    audit.record(
        session,
        AuditEvent(
            EventType.RECTIFICATION_ANSWERED,
            actor=principal.client_id,
            provider=principal.client_id,
            requester=found.recipient,
            subject_id=found.subject_id,
            categories=(found.category,),
            consent_id=found.consent_id,
            details={"rectification": found.id, "outcome": outcome.value},
        ),
        now=now,
    )
    session.flush()
    return found


# -- sealing -----------------------------------------------------------------------------------


def associated_data(rectification: Rectification) -> bytes:
    """What a sealed text is bound to: its notice, person, provider and information. Moved to
    another row, it no longer opens."""
    return rfc8785.dumps(
        {
            "rectification": rectification.id,
            "subject": rectification.subject_id,
            "provider": rectification.provider,
            "category": rectification.category,
        }
    )


def _sealed(rectification: Rectification) -> Sealed | None:
    parts = (
        rectification.key_id,
        rectification.wrapped_key,
        rectification.nonce,
        rectification.ciphertext,
    )
    key_id, wrapped, nonce, ciphertext = parts
    if key_id is None or wrapped is None or nonce is None or ciphertext is None:
        return None
    return Sealed(key_id, wrapped, nonce, ciphertext)
