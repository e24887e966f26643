"""Message payloads at rest: AES-256-GCM under a fresh data key per message, the data key
wrapped (RFC 3394 AES key wrap) by a key-encryption key that lives in the key folder, never in
the database. DPO users' TOTP secrets are sealed the same way (``gateway.dpo.users``), and
``gateway.keys.rewrap`` re-wraps both after a rotation.

Each key-encryption key is one file ``messages/<kid>.json`` (mode 0600) with its life: the
newest unretired key wraps; retired keys still unwrap until every data key they wrapped has been
re-wrapped, and are erased after that. The associated data binds a ciphertext to its message's
id and metadata, so a sealed payload copied into another row does not open.

Running processes notice a rotation by the folder's modification time, and look again when a
row names a key they do not know, so ``gateway keys rotate`` needs no restart.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from gateway.keys.folder import KeyFiles, changing

KEY_BYTES = 32  # AES-256, for data keys and key-encryption keys alike
NONCE_BYTES = 12
# A retired key is erased only when nothing uses it and it was retired this long ago: every
# process has long since noticed the rotation and stopped wrapping with it.
ERASE_AFTER = timedelta(hours=1)
_KID = re.compile(r"^kek-[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$")


class SealingError(Exception):
    """The key folder holds no usable key-encryption key, or a key file is invalid."""


class SealBroken(Exception):
    """A sealed payload does not open: its key is gone, or it was altered or moved."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class Rewrapped:
    count: int  # data keys now wrapped by the active key
    unreadable: int  # data keys that did not unwrap: left as they are, their key kept


@dataclass(frozen=True)
class WrappingKey:
    kid: str
    created_at: datetime
    retired_at: datetime | None
    secret: bytes

    def to_file(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "created_at": self.created_at.isoformat(),
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
            "key": base64.urlsafe_b64encode(self.secret).decode(),
        }

    @classmethod
    def from_file(cls, data: dict[str, Any]) -> WrappingKey:
        if not isinstance(data, dict):  # valid JSON, but not a key's object
            raise TypeError("a key file holds one JSON object")
        if not isinstance(data.get("kid"), str) or not _KID.match(data["kid"]):
            raise ValueError("a key id looks like kek-YYYYMMDDTHHMMSS-xxxxxxxx")
        retired = data.get("retired_at")
        secret = base64.urlsafe_b64decode(data["key"])
        if len(secret) != KEY_BYTES:
            raise ValueError("a key-encryption key has 32 bytes")
        return cls(
            kid=data["kid"],
            created_at=datetime.fromisoformat(data["created_at"]),
            retired_at=datetime.fromisoformat(retired) if retired else None,
            secret=secret,
        )


class MessageKeys:
    """The key-encryption keys of one key folder."""

    def __init__(self, folder: Path, *, reload_interval: float = 1.0):
        self._files = KeyFiles(
            folder / "messages",
            parse=WrappingKey.from_file,
            new=_new_key,
            error=SealingError,
            reload_interval=reload_interval,
        )

    # -- sealing (request path) -----------------------------------------------------------

    def seal(self, plaintext: bytes, associated: bytes) -> Sealed:
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, associated)
        wrapping = self._active()
        return Sealed(wrapping.kid, aes_key_wrap(wrapping.secret, data_key), nonce, ciphertext)

    def open(self, sealed: Sealed, associated: bytes) -> bytes:
        data_key = self._unwrap(sealed.key_id, sealed.wrapped_key)
        try:
            return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, associated)
        except InvalidTag:
            raise SealBroken("the payload does not open with its key and metadata") from None

    def rewrap(self, key_id: str, wrapped_key: bytes) -> tuple[str, bytes]:
        """The same data key wrapped by the active key-encryption key (the payload itself is
        not touched)."""
        data_key = self._unwrap(key_id, wrapped_key)
        wrapping = self._active()
        return wrapping.kid, aes_key_wrap(wrapping.secret, data_key)

    def active_kid(self) -> str:
        return self._active().kid

    # -- set-up and rotation (CLI and start-up) -------------------------------------------

    def ensure(self) -> None:
        """Create the folder and a first key if there is none yet."""
        self._files.ensure()

    def rotate(self, now: datetime | None = None) -> str:
        """Wrap with a new key from now on; the others are retired but still unwrap."""
        new, _ = self._files.rotate(now)
        return new.kid

    def erase_unused(self, in_use: set[str], now: datetime | None = None) -> list[str]:
        """Erase retired keys that wrap nothing (``in_use``: the key ids rows still name) and
        were retired long enough ago; returns their ids."""
        now = now or datetime.now(UTC)
        erased = []
        with changing(self._files.folder):
            for key in self._files.read_all().values():
                retired = key.retired_at
                if retired and key.kid not in in_use and retired + ERASE_AFTER < now:
                    (self._files.folder / f"{key.kid}.json").unlink()
                    erased.append(key.kid)
        self._files.reload()
        return erased

    def retired_kids(self) -> list[str]:
        keys = self._files.keys()
        return sorted(kid for kid, key in keys.items() if key.retired_at is not None)

    def is_loaded(self) -> bool:
        try:
            return bool(self._active())
        except SealingError:
            return False

    # -- internals ------------------------------------------------------------------------

    def _active(self) -> WrappingKey:
        active = self._files.active()
        if active is None:
            raise SealingError(f"no active key-encryption key in {self._files.folder}")
        return active

    def _unwrap(self, key_id: str, wrapped_key: bytes) -> bytes:
        key = self._files.key(key_id)
        if key is None:
            raise SealBroken("the payload's key-encryption key is not in the key folder")
        try:
            return aes_key_unwrap(key.secret, wrapped_key)
        except InvalidUnwrap:
            raise SealBroken("the payload's data key does not unwrap") from None


def _new_key(now: datetime) -> WrappingKey:
    kid = f"kek-{now.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
    return WrappingKey(kid, now, None, AESGCM.generate_key(bit_length=KEY_BYTES * 8))
