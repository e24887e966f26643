"""The second factor of DPO users: time-based one-time passwords (RFC 6238) as authenticator
apps make them: SHA-1, six digits, a new code every 30 seconds. ``cryptography`` computes them."""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP

DIGITS = 6
STEP = 30  # seconds
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends for SHA-1
DRIFT_STEPS = 1  # a phone's clock may be a step behind or ahead
ISSUER = "Consent gateway"
_CODE = re.compile(r"^[0-9]{6}$")


def new_secret() -> str:
    """A fresh secret, base32 as authenticator apps take it (and as it is stored)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode()


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually as a QR code)."""
    return _totp(secret).get_provisioning_uri(account, ISSUER)


def code_matches(secret: str, code: str, now: datetime) -> bool:
    """Whether ``code`` is the code of ``now``, or of the step just before or after it."""
    return matching_step(secret, code, now) is not None


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (seconds since the epoch // 30) whose code ``code`` is, if it is the code
    of ``now`` or of the step just before or after it. Sign-in refuses a step not newer than
    the last one used, so a code seen over someone's shoulder cannot be used again."""
    code = code.strip().replace(" ", "")
    if not _CODE.fullmatch(code):
        return None
    totp = _totp(secret)
    moment = int(now.timestamp())
    for drift in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        try:
            totp.verify(code.encode(), moment + drift * STEP)
        except InvalidToken:
            continue
        return (moment + drift * STEP) // STEP
    return None


def code_at(secret: str, moment: datetime) -> str:
    """The code an authenticator app shows at ``moment`` (for tests and set-up checks)."""
    return _totp(secret).generate(int(moment.timestamp())).decode()


def _totp(secret: str) -> TOTP:
    return TOTP(base64.b32decode(secret), DIGITS, SHA1(), STEP)  # noqa: S303 (RFC 6238's default, what authenticator apps compute)
