"""The portal's actions: signing in with the portal code from the consent receipt, signing out,
and the person's own withdrawals.

A session's principal is the consent whose code was used; the person is that consent's subject,
and every page shows all of that person's consents.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from gateway.consents import repository as consents
from gateway.consents import service as consent_service
from gateway.consents.receipts import portal_code_hash
from gateway.consents.service import OwnWithdrawal
from gateway.runtime import Runtime
from gateway.web import sessions, throttle
from gateway.web.i18n import N_
from gateway.web.pages import SignInRequired
from gateway.web.sessions import PageSession, Realm

# Longer input is no code (a code is 20 characters and 3 dashes); it still counts as a try.
_LONGEST_CODE = 64


@dataclass(frozen=True)
class SignedIn:
    token: str  # the session cookie's value, shown once


class Refusal(StrEnum):
    """Why a sign-in did not work. A wrong code and an unknown code are the same refusal, so
    that nobody learns whether a code exists."""

    EMPTY = "empty"
    WRONG = "wrong"
    LOCKED = "locked"


REFUSALS = {
    Refusal.EMPTY: N_("Please type in your portal code."),
    Refusal.WRONG: N_("This code did not work. Check it and try again."),
    # The error page's text (web.po), so that a lock reads the same everywhere.
    Refusal.LOCKED: N_("Too many attempts. Please wait a while and try again."),
}


def sign_in(
    session: Session,
    runtime: Runtime,
    code: str,
    *,
    address: str | None,
    previous: str | None,
    now: datetime,
) -> SignedIn | Refusal:
    """Let the person in with the portal code of one of their consents. Tries are counted per
    code and per address; a locked code or address is refused even with the right code."""
    secret = "".join(code.split()).replace("-", "").upper()[:_LONGEST_CODE]
    if not secret:
        return Refusal.EMPTY
    settings = runtime.settings
    attempt = throttle.Attempt.of(
        runtime.audit.pseudonymizer, settings, secret=secret, address=address
    )
    if throttle.locked_until(session, attempt, now) is not None:
        return Refusal.LOCKED
    code_hash = portal_code_hash(secret)
    consent = consents.consent_by_code_hash(session, code_hash)
    if consent is None or not hmac.compare_digest(consent.portal_code_hash, code_hash):
        throttle.failed(session, attempt, settings, now)
        locked = throttle.locked_until(session, attempt, now) is not None
        return Refusal.LOCKED if locked else Refusal.WRONG
    throttle.succeeded(session, attempt)
    # A new sign-in in the same browser ends the session it had (no two live side by side).
    if (old := sessions.current(session, Realm.PORTAL, previous, settings, now)) is not None:
        sessions.end(session, old)
    token, _ = sessions.start(session, Realm.PORTAL, consent.id, now)
    return SignedIn(token)


def live_session(
    session: Session, runtime: Runtime, token: str | None, now: datetime
) -> PageSession | None:
    return sessions.current(session, Realm.PORTAL, token, runtime.settings, now)


def sign_out(session: Session, page_session: PageSession) -> None:
    sessions.end(session, page_session)


def person(session: Session, page_session: PageSession) -> str:
    """The person signed in: the subject of the consent whose code they used."""
    consent = consents.consent(session, page_session.principal)
    if consent is None:
        raise SignInRequired(Realm.PORTAL)
    return consent.subject_id


class Notice(StrEnum):
    """What the consents page says after a withdrawal (named in its address, no data)."""

    WITHDRAWN = "withdrawn"
    PERMISSION_WITHDRAWN = "permission-withdrawn"
    CHANGED = "changed"
    ENDED = "ended"


NOTICES = {
    Notice.WITHDRAWN: N_(
        "Your consent is withdrawn. From now on, no office may share your information under it."
    ),
    Notice.PERMISSION_WITHDRAWN: N_(
        "The permission is withdrawn. From now on, the offices may no longer share this "
        "information under it."
    ),
    Notice.CHANGED: N_(
        "This consent has changed in the meantime. Nothing was withdrawn. Please look at it again."
    ),
    Notice.ENDED: N_("This consent had already ended. There was nothing to withdraw."),
}


def notice_text(name: str) -> str | None:
    """The text of the notice named in the consents page's address, if it names one."""
    return NOTICES[Notice(name)] if name in set(Notice) else None


def withdraw(
    session: Session,
    runtime: Runtime,
    page_session: PageSession,
    consent_id: str,
    *,
    version: str,
    permission: int | None,
    now: datetime,
    request_id: str | None = None,
) -> Notice:
    """Withdraw a consent of the person, or one permission of it (``permission`` counts from
    1 in ``version``, the version the confirmation page showed)."""
    shown = int(version) if version.isdecimal() and len(version) < 6 else 0
    outcome = consent_service.withdraw_own(
        session,
        runtime.audit,
        runtime.keys,
        subject_id=person(session, page_session),
        consent_id=consent_id,
        version=shown,
        grant=permission - 1 if permission is not None else None,
        now=now,
        request_id=request_id,
    )
    if outcome is OwnWithdrawal.CHANGED:
        return Notice.CHANGED
    if outcome is OwnWithdrawal.ENDED:
        return Notice.ENDED
    return Notice.PERMISSION_WITHDRAWN if permission is not None else Notice.WITHDRAWN
