"""The portal's actions: signing in with the portal code from the consent receipt, signing out,
the person's own withdrawals, and their saying that information passed on about them is wrong.

A session's principal is the issue of the code that was used (``consents.portal_codes``); the
person is that code's, and every page shows all of that person's consents. A session lasts only
as long as its code lets its holder in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from gateway.audit.events import PERSON, AuditEvent, EventType
from gateway.consents import portal_codes
from gateway.consents import service as consent_service
from gateway.consents.portal_codes import LiveCode
from gateway.consents.service import OwnWithdrawal
from gateway.emergency import disclosure
from gateway.portal import rectifications, views
from gateway.portal.views import AgencyView
from gateway.rectifications import service as rectification_service
from gateway.rectifications.errors import ReleaseNotFound
from gateway.runtime import Runtime
from gateway.web import sessions, throttle
from gateway.web.i18n import N_
from gateway.web.pages import SignInRequired
from gateway.web.sessions import PageSession, Realm

CONSENTS_PAGE = "/portal/consents"
# Longer input is no code (a code is 20 characters and 3 dashes); it still counts as a try.
_LONGEST_CODE = 64


@dataclass(frozen=True)
class SignedIn:
    token: str  # the session cookie's value, shown once


@dataclass(frozen=True)
class Person:
    """Who is signed in: the person of the code in use, and that code's issue (which agency
    gave it, when)."""

    code: LiveCode
    issued_by: AgencyView
    page_session: PageSession

    @property
    def subject_id(self) -> str:
        return self.code.subject_id

    @property
    def csrf_token(self) -> str:
        return self.page_session.csrf_token


class Refusal(StrEnum):
    """Why a sign-in did not work. A wrong code and an unknown code are the same refusal, so
    that nobody learns whether a code exists."""

    EMPTY = "empty"
    WRONG = "wrong"
    LOCKED = "locked"


REFUSALS = {
    Refusal.EMPTY: N_("Please type in your portal code."),
    Refusal.WRONG: N_("This code did not work. Check it and try again."),
    Refusal.LOCKED: N_("Too many attempts. For your safety, signing in is paused."),
}
LAST_TRY = N_(
    "Careful: one more wrong try, and signing in pauses for %(minutes)s minutes. Compare the "
    "code with your receipt letter by letter."
)


@dataclass(frozen=True)
class Refused:
    """A refused sign-in: why, and what the person needs to know next (at most one of the
    two: a warning before the last try, or until when signing in is paused)."""

    refusal: Refusal
    last_try: bool = False
    locked_until: datetime | None = None


def sign_in(
    session: Session,
    runtime: Runtime,
    code: str,
    *,
    address: str | None,
    previous: str | None,
    now: datetime,
    request_id: str | None = None,
) -> SignedIn | Refused:
    """Let the person in with their live portal code. Tries are counted per code and per
    address; a locked code or address is refused even with the right code. A sign-in is
    audited under the person's pseudonym, naming the code's issue: whoever holds a code, its
    use is on record."""
    secret = "".join(code.split()).replace("-", "").upper()[:_LONGEST_CODE]
    if not secret:
        return Refused(Refusal.EMPTY)
    settings = runtime.settings
    attempt = throttle.Attempt.of(
        runtime.audit.pseudonymizer, settings, secret=secret, address=address
    )
    if (until := throttle.locked_until(session, attempt, now)) is not None:
        return Refused(Refusal.LOCKED, locked_until=until)
    live = portal_codes.live_by_code(session, secret, now, settings.consent_evidence_days)
    if live is None:
        throttle.failed(session, attempt, settings, now)
        if (until := throttle.locked_until(session, attempt, now)) is not None:
            return Refused(Refusal.LOCKED, locked_until=until)
        return Refused(
            Refusal.WRONG, last_try=throttle.tries_left(session, attempt, settings, now) == 1
        )
    throttle.succeeded(session, attempt)
    # A new sign-in in the same browser ends the session it had (no two live side by side).
    if (old := sessions.current(session, Realm.PORTAL, previous, settings, now)) is not None:
        sessions.end(session, old)
    token, _ = sessions.start(session, Realm.PORTAL, live.issue_id, now)
    runtime.audit.record(
        session,
        AuditEvent(
            EventType.PORTAL_SIGNED_IN,
            actor=PERSON,
            subject_id=live.subject_id,
            request_id=request_id,
            details=live.details,
        ),
        now=now,
    )
    return SignedIn(token)


def live_session(
    session: Session, runtime: Runtime, token: str | None, now: datetime
) -> PageSession | None:
    """The browser's portal session, if it is live and its code still lets its holder in; a
    session whose code has ended is ended too."""
    found = sessions.current(session, Realm.PORTAL, token, runtime.settings, now)
    if found is None:
        return None
    evidence_days = runtime.settings.consent_evidence_days
    if portal_codes.live_by_issue(session, found.principal, now, evidence_days) is None:
        sessions.end(session, found)
        return None
    return found


def sign_out(session: Session, page_session: PageSession) -> None:
    sessions.end(session, page_session)


def person(session: Session, runtime: Runtime, page_session: PageSession, now: datetime) -> Person:
    """The person signed in, as long as the code they used still lets them in (a newer code,
    or the end of their last consent's evidence period, ends it); otherwise sign in again."""
    code = portal_codes.live_by_issue(
        session, page_session.principal, now, runtime.settings.consent_evidence_days
    )
    if code is None:
        raise SignInRequired(Realm.PORTAL)
    issuer = views.agencies(session, {code.issued_by})[code.issued_by]
    return Person(code, issuer, page_session)


def visitor(session: Session, runtime: Runtime, token: str | None, now: datetime) -> Person | None:
    """The person signed in with this browser, if any: a page open to everybody (help) still
    shows a signed-in person their own things."""
    found = live_session(session, runtime, token, now)
    return person(session, runtime, found, now) if found is not None else None


@dataclass(frozen=True)
class Download:
    filename: str
    body: bytes


def record_file(session: Session, runtime: Runtime, person: Person, consent_id: str) -> Download:
    """One of the person's consents as a W3C DPV consent record (JSON-LD), to keep or to hand
    to whoever helps them: without any agency's reference for them, as the pages show none."""
    document = consent_service.own_record_document(
        session, person.subject_id, consent_id, runtime.settings.issuer, datetime.now(UTC)
    )
    body = json.dumps(document.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
    # The name is the stored consent's id, never the address's text.
    return Download(f"consent-{document.identifier}.jsonld", body.encode())


class Notice(StrEnum):
    """What the consents page says after a withdrawal (named in its address, no data)."""

    WITHDRAWN = "withdrawn"
    PERMISSION_WITHDRAWN = "permission-withdrawn"
    ALREADY = "already-withdrawn"
    ENDED = "ended"


# After one permission's withdrawal, the address names it too (digits only): the notice says
# which one, and keeps saying it on a language switch (the address is kept).
PERMISSION_WITHDRAWN = N_(
    "Permission %(number)s is withdrawn. From now on, the offices may no longer share this "
    "information under it. Your other permissions keep their numbers."
)
_PERMISSION_NUMBER = re.compile(r"[0-9]{1,3}")
NOTICES = {
    Notice.WITHDRAWN: N_(
        "Your consent is withdrawn. From now on, no office may share your information under it."
    ),
    Notice.PERMISSION_WITHDRAWN: N_(
        "The permission is withdrawn. From now on, the offices may no longer share this "
        "information under it. Your other permissions keep their numbers."
    ),
    Notice.ALREADY: N_("This permission had already been withdrawn. Nothing else was changed."),
    Notice.ENDED: N_("This consent had already ended. There was nothing to withdraw."),
}
# The sign-in page's notice when a page needed a session that had ended (web.pages).
SESSION_ENDED = "session-ended"


@dataclass(frozen=True)
class NoticeText:
    text: str  # a msgid
    values: dict[str, str]


def notice_text(name: str, permission: str = "") -> NoticeText | None:
    """The notice named in the consents page's address, if it names one; a withdrawn
    permission's notice names its number when the address gives one (digits only: anything
    else is left out, never shown)."""
    if name not in set(Notice):
        return None
    notice = Notice(name)
    if notice is Notice.PERMISSION_WITHDRAWN and _PERMISSION_NUMBER.fullmatch(permission):
        return NoticeText(PERMISSION_WITHDRAWN, {"number": str(int(permission))})
    return NoticeText(NOTICES[notice], {})


def notice_address(notice: Notice, permission: int | None) -> str:
    """The consents page's address after a withdrawal: the notice, and which permission."""
    if notice is Notice.PERMISSION_WITHDRAWN and permission is not None:
        return f"{CONSENTS_PAGE}?notice={notice.value}&permission={permission}"
    return f"{CONSENTS_PAGE}?notice={notice.value}"


def withdraw(
    session: Session,
    runtime: Runtime,
    person: Person,
    consent_id: str,
    *,
    permission: int | None,
    request_id: str | None = None,
) -> Notice:
    """Withdraw a consent of the person, or its permission number ``permission`` (numbers
    never change: the grant is named by its place in the consent's first version, so a page
    that went stale meanwhile still withdraws what it showed, or nothing)."""
    grant = None
    if permission is not None:
        # Read apart: the first version never changes, and the withdrawal must lock the
        # consent and read its current version afresh, not from what this session holds.
        with runtime.database.transaction(read_only=True) as reading:
            grant = views.numbered_grant(reading, person.subject_id, consent_id, permission)
    outcome = consent_service.withdraw_own(
        session,
        runtime.audit,
        runtime.keys,
        subject_id=person.subject_id,
        consent_id=consent_id,
        grant=grant,
        portal_code=person.code,
        effects=runtime.withdrawal_effects,
        request_id=request_id,
    )
    if outcome is OwnWithdrawal.GONE:
        return Notice.ALREADY
    if outcome is OwnWithdrawal.ENDED:
        return Notice.ENDED
    return Notice.PERMISSION_WITHDRAWN if permission is not None else Notice.WITHDRAWN


def flag_wrong(
    session: Session,
    runtime: Runtime,
    person: Person,
    release_id: str,
    category: str,
    text: str,
    request_id: str | None = None,
) -> rectifications.Notice:
    """The person says that ``category`` of one of their releases is wrong; the office it came
    from gets a rectification notice. Raises ``TextTooLong`` (nothing stored) for a long text.
    A release the person may not see yet (a deferred emergency) is not found, as on the page."""
    now = datetime.now(UTC)
    if release_id in disclosure.deferred(session, person.subject_id, now).exchanges:
        raise ReleaseNotFound()
    flagged = rectification_service.flag(
        session,
        runtime.audit,
        runtime.sealing,
        subject_id=person.subject_id,
        release_id=release_id,
        category=category,
        text=text,
        now=now,
        code_details=person.code.details,
        request_id=request_id,
    )
    return rectifications.Notice.SENT if flagged.new else rectifications.Notice.ALREADY
