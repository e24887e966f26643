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
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from gateway.keys.folder import changing, write_json

KEY_BYTES = 32  # AES-256, for data keys and key-encryption keys alike
NONCE_BYTES = 12
# A retired key is erased only when nothing uses it and it was retired this long ago: every
# process has long since noticed the rotation and stopped wrapping with it.
ERASE_AFTER = timedelta(hours=1)
_FRESH_MTIME_NS = 2_000_000_000
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
        self._folder = folder / "messages"
        self._reload_interval = reload_interval
        self._lock = threading.Lock()
        self._keys: dict[str, WrappingKey] = {}
        self._seen_mtime: int | None = None
        self._checked_at = 0.0

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
        with changing(self._folder):
            if not self._read_all():
                _write_key(self._folder, _new_key(datetime.now(UTC)))
        self._reload()

    def rotate(self, now: datetime | None = None) -> str:
        """Wrap with a new key from now on; the others are retired but still unwrap."""
        now = now or datetime.now(UTC)
        with changing(self._folder):
            new = _new_key(now)
            # Written before the others are retired: a process reading in between sees two
            # active keys and wraps with the newer one, never with none.
            _write_key(self._folder, new)
            for key in self._read_all().values():
                if key.kid != new.kid and key.retired_at is None:
                    _write_key(self._folder, WrappingKey(key.kid, key.created_at, now, key.secret))
        self._reload()
        return new.kid

    def erase_unused(self, in_use: set[str], now: datetime | None = None) -> list[str]:
        """Erase retired keys that wrap nothing (``in_use``: the key ids rows still name) and
        were retired long enough ago; returns their ids."""
        now = now or datetime.now(UTC)
        erased = []
        with changing(self._folder):
            for key in self._read_all().values():
                retired = key.retired_at
                if retired and key.kid not in in_use and retired + ERASE_AFTER < now:
                    (self._folder / f"{key.kid}.json").unlink()
                    erased.append(key.kid)
        self._reload()
        return erased

    def retired_kids(self) -> list[str]:
        self._maybe_reload()
        return sorted(kid for kid, key in self._keys.items() if key.retired_at is not None)

    def is_loaded(self) -> bool:
        try:
            return bool(self._active())
        except SealingError:
            return False

    # -- internals ------------------------------------------------------------------------

    def _active(self) -> WrappingKey:
        self._maybe_reload()
        candidates = [key for key in self._keys.values() if key.retired_at is None]
        if not candidates:
            raise SealingError(f"no active key-encryption key in {self._folder}")
        return max(candidates, key=lambda key: key.created_at)

    def _unwrap(self, key_id: str, wrapped_key: bytes) -> bytes:
        self._maybe_reload()
        key = self._keys.get(key_id)
        if key is None:  # perhaps rotated in by another process since the last look
            self._reload()
            key = self._keys.get(key_id)
        if key is None:
            raise SealBroken("the payload's key-encryption key is not in the key folder")
        try:
            return aes_key_unwrap(key.secret, wrapped_key)
        except InvalidUnwrap:
            raise SealBroken("the payload's data key does not unwrap") from None

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if self._keys and now - self._checked_at < self._reload_interval:
            return
        try:
            mtime = self._folder.stat().st_mtime_ns
        except FileNotFoundError as missing:
            raise SealingError(f"key folder {self._folder} does not exist") from missing
        self._checked_at = now
        if mtime != self._seen_mtime:
            self._reload()

    def _reload(self) -> None:
        with self._lock:
            mtime = self._folder.stat().st_mtime_ns
            self._keys = self._read_all()
            # A change within the same timestamp tick would go unnoticed on file systems with
            # coarse timestamps: a time this fresh is not remembered, so the next look reads.
            fresh = time.time_ns() - mtime < _FRESH_MTIME_NS
            self._seen_mtime = None if fresh else mtime
            self._checked_at = time.monotonic()

    def _read_all(self) -> dict[str, WrappingKey]:
        keys = {}
        for path in sorted(self._folder.glob("*.json")):
            try:
                key = WrappingKey.from_file(json.loads(path.read_text()))
            except FileNotFoundError:  # erased by another process since the listing
                continue
            except (ValueError, KeyError, TypeError) as bad:
                raise SealingError(f"invalid key file {path}: {type(bad).__name__}") from None
            if path.name != f"{key.kid}.json":
                raise SealingError(f"key file {path} does not hold the key its name says")
            keys[key.kid] = key
        return keys


def _new_key(now: datetime) -> WrappingKey:
    kid = f"kek-{now.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
    return WrappingKey(kid, now, None, AESGCM.generate_key(bit_length=KEY_BYTES * 8))


def _write_key(folder: Path, key: WrappingKey) -> None:
    write_json(folder / f"{key.kid}.json", key.to_file())
