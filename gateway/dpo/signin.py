"""Signing DPOs in and out.

Every failure looks the same to the visitor (unknown name, wrong password, missing or wrong
code, disabled user), and costs the same: the password is checked with scrypt even when no such
user exists. Failures are counted per user name and per address; a locked key is refused before
any password is checked. Each sign-in, successful or not, is audited; a failed one without the
name that was tried (it may be a mistyped password).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.dpo import repository, totp, users
from gateway.messages.sealing import MessageKeys, SealBroken, SealingError
from gateway.settings import Settings
from gateway.web import sessions, throttle
from gateway.web.sessions import PageSession, Realm

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignedIn:
    token: str  # the session cookie's value


@dataclass(frozen=True)
class Refused:
    pass


@dataclass(frozen=True)
class Locked:
    until: datetime


Outcome = SignedIn | Refused | Locked


@dataclass(frozen=True)
class Credentials:
    user_id: str
    password: str
    code: str


def sign_in(
    session: Session,
    audit: AuditLog,
    settings: Settings,
    sealing: MessageKeys,
    given: Credentials,
    *,
    address: str | None,
    request_id: str | None,
    now: datetime,
) -> Outcome:
    user_id = users.normalised_id(given.user_id)
    # The "dpo:" prefix keeps DPO names apart from portal codes in the shared counters.
    attempt = throttle.Attempt.of(
        audit.pseudonymizer, settings, secret=f"dpo:{user_id}", address=address
    )
    until = throttle.locked_until(session, attempt, now)
    if until is not None:
        _failed(session, audit, request_id, now, locked=True)
        return Locked(until)
    # Locked: two sign-ins with the same one-time code must not both succeed.
    user = repository.user(session, user_id, for_update=True)
    stored = user.password_hash if user is not None else _dummy_hash()
    right = users.password_matches(given.password, stored)
    if user is None or not user.enabled or not right:
        return _refuse(session, audit, settings, attempt, request_id, now)
    try:
        secret = users.totp_secret(user, sealing)
    except SealBroken:  # an altered row, or its key erased: `gateway dpo reset-totp` mends it
        logger.warning("a DPO user's TOTP secret does not open; sign-in refused")
        return _refuse(session, audit, settings, attempt, request_id, now)
    except SealingError:  # the key folder is unusable: refused like any failure, not a 500
        logger.error("the key folder's key-encryption keys are unusable; DPO sign-in refused")
        return _refuse(session, audit, settings, attempt, request_id, now)
    if secret is not None:
        step = totp.matching_step(secret, given.code, now)
        used = user.totp_last_step
        if step is None or (used is not None and step <= used):
            return _refuse(session, audit, settings, attempt, request_id, now)
        user.totp_last_step = step
    throttle.succeeded(session, attempt)
    token, _ = sessions.start(session, Realm.DPO, user.id, now)
    audit.record(
        session,
        AuditEvent(
            EventType.DPO_SIGNED_IN,
            actor=user.id,
            request_id=request_id,
            details={"totp": secret is not None},
        ),
        now=now,
    )
    return SignedIn(token)


def is_signed_in(session: Session, settings: Settings, token: str | None, now: datetime) -> bool:
    return sessions.current(session, Realm.DPO, token, settings, now) is not None


def sign_out(
    session: Session, audit: AuditLog, page_session: PageSession, request_id: str | None
) -> None:
    sessions.end(session, page_session)
    audit.record(
        session,
        AuditEvent(EventType.DPO_SIGNED_OUT, actor=page_session.principal, request_id=request_id),
    )


def _refuse(
    session: Session,
    audit: AuditLog,
    settings: Settings,
    attempt: throttle.Attempt,
    request_id: str | None,
    now: datetime,
) -> Refused:
    throttle.failed(session, attempt, settings, now)
    _failed(session, audit, request_id, now, locked=False)
    return Refused()


def _failed(
    session: Session, audit: AuditLog, request_id: str | None, now: datetime, *, locked: bool
) -> None:
    audit.record(
        session,
        AuditEvent(EventType.DPO_SIGN_IN_FAILED, request_id=request_id, details={"locked": locked}),
        now=now,
    )


@cache
def _dummy_hash() -> str:
    """A hash no password matches, so that an unknown name costs as much as a known one."""
    return users.hash_password(secrets.token_urlsafe(32))
