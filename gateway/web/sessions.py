"""Page sessions: a random token in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure``
unless turned off for local http), only its SHA-256 stored; a CSRF token per session that
every form carries back; an idle timeout and a maximum age.

Before sign-in there is no session yet; the sign-in forms carry a token that must match a
short-lived cookie of the same value (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from fastapi import Response
from sqlalchemy import delete
from sqlalchemy.orm import Session

from gateway.db.engine import Database
from gateway.errors import GatewayError, problem_type
from gateway.settings import Settings
from gateway.web.tables import WebSession

SIGN_IN_CSRF_COOKIE = "gw_signin"
TOUCH_AFTER = timedelta(seconds=30)  # last_seen_at is written at most this often

FORM_EXPIRED = problem_type(
    "form-expired",
    "Form expired",
    403,
    "The form was not sent from this site's page, or its page is too old: reload and try again.",
)


class FormExpired(GatewayError):
    kind = FORM_EXPIRED


class Realm(StrEnum):
    PORTAL = "portal"
    DPO = "dpo"

    @property
    def cookie(self) -> str:
        return f"gw_{self.value}"

    @property
    def path(self) -> str:
        return f"/{self.value}/"


@dataclass(frozen=True)
class PageSession:
    realm: Realm
    principal: str  # a consent id (portal) or a DPO user id
    csrf_token: str
    token_hash: str


def start(session: Session, realm: Realm, principal: str, now: datetime) -> tuple[str, PageSession]:
    """A new session; returns the cookie's token (shown once) and the session."""
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=_hash(token),
        realm=realm.value,
        principal=principal,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return token, _page_session(row)


def current(
    session: Session, realm: Realm, token: str | None, settings: Settings, now: datetime
) -> PageSession | None:
    """The live session of this cookie token, touched; None (and the row removed) if it is
    unknown, of another realm, idle too long or too old."""
    if not token or len(token) > 100:
        return None
    row = session.get(WebSession, _hash(token))
    if row is None or row.realm != realm.value:
        return None
    idle = now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
    old = now - row.created_at > timedelta(hours=settings.session_max_hours)
    if idle or old:
        session.delete(row)
        session.flush()
        return None
    if now - row.last_seen_at > TOUCH_AFTER:
        row.last_seen_at = now
    return _page_session(row)


def end(session: Session, page_session: PageSession) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == page_session.token_hash))


def end_all_for(session: Session, realm: Realm, principal: str) -> None:
    """Sign a principal out everywhere (e.g. a DPO user disabled)."""
    session.execute(
        delete(WebSession).where(WebSession.realm == realm.value, WebSession.principal == principal)
    )


def purge_expired(session: Session, settings: Settings, now: datetime) -> int:
    cutoff = now - timedelta(minutes=settings.session_idle_minutes)
    result = session.execute(delete(WebSession).where(WebSession.last_seen_at < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]


def sweep(database: Database, settings: Settings) -> int:
    """Remove sessions idle too long (a background chore; they are refused before that)."""
    with database.transaction() as session:
        return purge_expired(session, settings, datetime.now(UTC))


def check_csrf(expected: str | None, submitted: str | None) -> None:
    """The form's token must be the session's (or the sign-in cookie's); compared in
    constant time."""
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise FormExpired()


def set_cookie(response: Response, realm: Realm, token: str, settings: Settings) -> None:
    response.set_cookie(
        realm.cookie,
        token,
        max_age=settings.session_max_hours * 3600,
        path=realm.path,
        secure=settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, realm: Realm, settings: Settings) -> None:
    response.delete_cookie(
        realm.cookie, path=realm.path, secure=settings.cookie_secure, httponly=True,
        samesite="strict",
    )  # fmt: skip


def sign_in_token(existing: str | None) -> str:
    """The double-submit token of a sign-in form: the one the browser holds, or a new one."""
    if existing and 20 <= len(existing) <= 100:
        return existing
    return secrets.token_urlsafe(32)


def set_sign_in_cookie(response: Response, realm: Realm, token: str, settings: Settings) -> None:
    response.set_cookie(
        SIGN_IN_CSRF_COOKIE,
        token,
        max_age=3600,
        path=realm.path,
        secure=settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _page_session(row: WebSession) -> PageSession:
    return PageSession(Realm(row.realm), row.principal, row.csrf_token, row.token_hash)
