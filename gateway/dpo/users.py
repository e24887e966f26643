"""DPO users: the people who sign in to the /dpo/ pages, added, disabled and given new TOTP
secrets by the operator.

Passwords are kept only as scrypt hashes (as client secrets are); a user may also have a TOTP
secret for a second factor, which the gateway must be able to read back: it is sealed as message
payloads are (``gateway.messages.sealing``: the key that opens it lives in the key folder, not
in the database), bound to its user, and re-wrapped when the keys rotate. Disabling a user ends
their page sessions at once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.agencies.credentials import hash_secret, verify_secret
from gateway.audit.events import OPERATOR, AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.dpo import repository, totp
from gateway.dpo.tables import DpoUser
from gateway.messages.sealing import MessageKeys, Rewrapped, SealBroken, Sealed
from gateway.web import sessions
from gateway.web.sessions import Realm

PASSWORD_MIN = 12
PASSWORD_MAX = 256
NAME_MAX = 200
_USER_ID = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
# hash_secret asks 32 characters of machine-made secrets; this fixed prefix lifts a person's
# 12-character password over that floor and keeps its hash apart from any client secret's.
_PASSWORD_DOMAIN = "consent-gateway/dpo-user-password:"  # noqa: S105 (a prefix, not a secret)


class UserError(ValueError):
    """A change the operator asked for and the gateway refuses; the message says why (and
    never repeats a password)."""


@dataclass(frozen=True)
class AddedUser:
    id: str
    totp_uri: str | None  # shown once, for the user's authenticator app


def check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise UserError(f"the password must be at least {PASSWORD_MIN} characters long")
    if len(password) > PASSWORD_MAX:
        raise UserError(f"the password must be at most {PASSWORD_MAX} characters long")
    if any(unicodedata.category(char) == "Cc" for char in password):
        raise UserError("the password must not contain control characters")


def hash_password(password: str) -> str:
    return hash_secret(_PASSWORD_DOMAIN + password)


def password_matches(password: str, stored: str) -> bool:
    return verify_secret(_PASSWORD_DOMAIN + password, stored)


def normalised_id(user_id: str) -> str:
    """User names are matched without regard to case or surrounding spaces."""
    return user_id.strip().lower()


def add_user(
    session: Session,
    audit: AuditLog,
    *,
    user_id: str,
    name: str,
    password: str,
    with_totp: bool,
    sealing: MessageKeys | None,  # seals the TOTP secret: needed with_totp
    now: datetime,
) -> AddedUser:
    user_id = normalised_id(user_id)
    if not _USER_ID.fullmatch(user_id):
        raise UserError(
            "a user id is 1 to 64 lower-case letters, digits, dots, hyphens and underscores, "
            "starting and ending with a letter or digit (e.g. anna.schmidt)"
        )
    name = " ".join(name.split())
    if not name:
        raise UserError("the name must not be empty")
    if len(name) > NAME_MAX:
        raise UserError(f"the name must be at most {NAME_MAX} characters long")
    check_password(password)
    if password.strip().lower() == user_id:
        raise UserError("the password must not be the user id")
    secret = totp.new_secret() if with_totp else None
    user = DpoUser(
        id=user_id,
        name=name,
        password_hash=hash_password(password),
        enabled=True,
        created_at=now,
    )
    if secret is not None:
        if sealing is None:
            raise ValueError("a TOTP secret is stored sealed: the key folder's keys are needed")
        seal_totp_secret(user, secret, sealing)
    if not repository.add_user(session, user):
        raise UserError(f"a DPO user with id {user_id!r} exists already")
    audit.record(
        session,
        AuditEvent(
            EventType.DPO_USER_ADDED,
            actor=OPERATOR,
            details={"user": user_id, "totp": secret is not None},
        ),
        now=now,
    )
    return AddedUser(user_id, totp.provisioning_uri(secret, user_id) if secret else None)


def disable_user(session: Session, audit: AuditLog, user_id: str, now: datetime) -> bool:
    """Disable the user and end their sessions; False if they were disabled already."""
    user = repository.user(session, normalised_id(user_id))
    if user is None:
        raise UserError("no DPO user with this id")
    sessions.end_all_for(session, Realm.DPO, user.id)
    if not user.enabled:
        return False
    user.enabled = False
    session.flush()
    audit.record(
        session,
        AuditEvent(EventType.DPO_USER_DISABLED, actor=OPERATOR, details={"user": user.id}),
        now=now,
    )
    return True


def reset_totp(
    session: Session, audit: AuditLog, user_id: str, sealing: MessageKeys, now: datetime
) -> str:
    """A new TOTP secret for the user (a lost phone; or TOTP turned on): the old one stops
    working, their sessions end, and the otpauth:// URI of the new one is returned, once."""
    user = repository.user(session, normalised_id(user_id), for_update=True)
    if user is None:
        raise UserError("no DPO user with this id")
    secret = totp.new_secret()
    seal_totp_secret(user, secret, sealing)
    user.totp_last_step = None
    sessions.end_all_for(session, Realm.DPO, user.id)
    session.flush()
    audit.record(
        session,
        AuditEvent(EventType.DPO_USER_TOTP_RESET, actor=OPERATOR, details={"user": user.id}),
        now=now,
    )
    return totp.provisioning_uri(secret, user.id)


# -- the TOTP secret at rest -------------------------------------------------------------------


def totp_context(user_id: str) -> bytes:
    """What a sealed TOTP secret is bound to: its user. Copied to another user's row, it does
    not open."""
    return f"consent-gateway/dpo-user-totp:{user_id}".encode()


def seal_totp_secret(user: DpoUser, secret: str, sealing: MessageKeys) -> None:
    sealed = sealing.seal(secret.encode(), totp_context(user.id))
    user.totp_key_id, user.totp_wrapped_key = sealed.key_id, sealed.wrapped_key
    user.totp_nonce, user.totp_ciphertext = sealed.nonce, sealed.ciphertext


def totp_secret(user: DpoUser, sealing: MessageKeys) -> str | None:
    """The user's TOTP secret, None when TOTP is off; ``SealBroken`` if it does not open (its
    row was altered, or its key is gone)."""
    if user.totp_ciphertext is None:
        return None
    return sealing.open(_sealed(user), totp_context(user.id)).decode()


def _sealed(user: DpoUser) -> Sealed:
    """The user's sealed TOTP secret; ``SealBroken`` if a part of it is missing."""
    key_id, wrapped, nonce = user.totp_key_id, user.totp_wrapped_key, user.totp_nonce
    ciphertext = user.totp_ciphertext
    if key_id is None or wrapped is None or nonce is None or ciphertext is None:
        raise SealBroken("the TOTP secret's sealing is incomplete")
    return Sealed(key_id, wrapped, nonce, ciphertext)


def rewrap_totp_secrets(session: Session, sealing: MessageKeys) -> Rewrapped:
    """Wrap every TOTP secret's data key with the active key-encryption key (after a
    rotation); a secret that does not unwrap is left as it is, and counted."""
    active, count, unreadable = sealing.active_kid(), 0, 0
    for user in repository.users_sealed_with_other_keys(session, active):
        try:
            sealed = _sealed(user)
            user.totp_key_id, user.totp_wrapped_key = sealing.rewrap(
                sealed.key_id, sealed.wrapped_key
            )
        except SealBroken:  # left as it is: the key its row names is kept
            unreadable += 1
            continue
        count += 1
    session.flush()
    return Rewrapped(count, unreadable)
