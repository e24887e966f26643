"""Signing keys in the key folder, shared by every worker and instance that mounts it.

Each key is one file ``signing/<kid>.json`` holding its private JWK and its life: when it was
created and, once a newer key took over, when it was retired. The newest unretired key signs.
A retired key stays published (and accepted) until every token it signed has expired; after that
its private half is erased from the file, and only the public half remains for the record.

Running processes notice a rotation by the folder's modification time, so ``gateway keys rotate``
takes effect everywhere without a restart.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, OKPKey

from gateway.keys.folder import changing, write_json

SIGNING_ALGORITHM = "Ed25519"
_FORCED_RELOAD_INTERVAL = 1.0  # RFC 9864's fully specified name for EdDSA with Ed25519


class KeyStoreError(Exception):
    """The key folder is missing, unreadable or holds an invalid key file."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    created_at: datetime
    retired_at: datetime | None
    jwk: dict[str, Any]

    @property
    def has_private_part(self) -> bool:
        return "d" in self.jwk

    @cached_property
    def public_key(self) -> OKPKey:
        """The imported public key, made once per key (verification is on every request)."""
        return OKPKey.import_key(self.public_jwk())

    def public_jwk(self) -> dict[str, Any]:
        public = {name: value for name, value in self.jwk.items() if name != "d"}
        # No "alg": the key signs access tokens as "Ed25519" and receipts as "EdDSA" (RFC 8037),
        # and verifiers that match on alg would otherwise refuse one of them.
        return {**public, "kid": self.kid, "use": "sig"}

    def to_file(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "created_at": self.created_at.isoformat(),
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
            "jwk": self.jwk,
        }

    @classmethod
    def from_file(cls, data: dict[str, Any]) -> SigningKey:
        retired = data.get("retired_at")
        return cls(
            kid=data["kid"],
            created_at=datetime.fromisoformat(data["created_at"]),
            retired_at=datetime.fromisoformat(retired) if retired else None,
            jwk=data["jwk"],
        )


class KeyStore:
    """The signing keys of one key folder.

    ``grace`` is how long a retired key stays valid for verification: the longest lifetime of
    anything it signed, plus clock leeway.
    """

    def __init__(self, folder: Path, *, grace: timedelta, reload_interval: float = 1.0):
        self._folder = folder / "signing"
        self._grace = grace
        self._reload_interval = reload_interval
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []
        self._seen_mtime: int | None = None
        self._checked_at = 0.0
        self._forced_at = 0.0

    # -- set-up and rotation (CLI and start-up) ------------------------------------------

    def ensure(self) -> None:
        """Create the folder and a first key if there is none yet; erase what has expired."""
        with changing(self._folder):
            keys = self._read_all()
            if not keys:
                _write_key(self._folder, _new_key())
            self._erase_expired_private_halves(keys, datetime.now(UTC))
        self._reload()

    def rotate(self, now: datetime | None = None) -> SigningKey:
        """Start signing with a new key; the previous one is retired but still verifies."""
        now = now or datetime.now(UTC)
        with changing(self._folder):
            new = _new_key(now)
            # The new key is written before the old one is retired: a process reading in
            # between sees two active keys and signs with the newer one, never with none.
            _write_key(self._folder, new)
            others = [key for key in self._read_all() if key.kid != new.kid]
            for key in others:
                if key.retired_at is None:
                    _write_key(self._folder, SigningKey(key.kid, key.created_at, now, key.jwk))
            self._erase_expired_private_halves(others, now)
        self._reload()
        return new

    def _erase_expired_private_halves(self, keys: list[SigningKey], now: datetime) -> None:
        """A key past its grace signs and verifies nothing more; keep only its public half."""
        for key in keys:
            if key.retired_at and key.has_private_part and key.retired_at + self._grace < now:
                public = {name: value for name, value in key.jwk.items() if name != "d"}
                _write_key(
                    self._folder, SigningKey(key.kid, key.created_at, key.retired_at, public)
                )

    # -- use (request path) ---------------------------------------------------------------

    def active(self) -> OKPKey:
        """The private key that signs now."""
        key = self._active_key()
        return OKPKey.import_key(key.jwk, {"kid": key.kid})

    def active_kid(self) -> str:
        return self._active_key().kid

    def verification_keys(self, now: datetime | None = None) -> list[SigningKey]:
        """Keys whose signatures are accepted now: the active one and those in their grace."""
        now = now or datetime.now(UTC)
        self._maybe_reload()
        return [
            key
            for key in self._keys
            if key.retired_at is None or key.retired_at + self._grace >= now
        ]

    def verification_keyset(self) -> KeySet:
        """The keys access tokens may be signed with now (active, or retired within grace)."""
        keys = {"keys": [key.public_jwk() for key in self.verification_keys()]}
        return KeySet.import_key_set(keys)  # type: ignore[arg-type]  # joserfc's TypedDict shape

    def public_jwks(self) -> dict[str, list[dict[str, Any]]]:
        """Every public key this gateway ever signed with, the active one first.

        Retired keys stay published so that consent receipts remain verifiable for years; the
        gateway itself accepts access tokens only from keys within their grace period
        (``verification_keys``), and a retired key's private half is erased after it.
        """
        self._maybe_reload()
        active = self.active_kid()
        ordered = sorted(self._keys, key=lambda key: (key.kid != active, key.created_at))
        return {"keys": [key.public_jwk() for key in ordered]}

    def find(self, kid: str) -> SigningKey | None:
        """The verification key with this id; looks at the folder again once if it is unknown."""
        for attempt in range(2):
            for key in self.verification_keys():
                if key.kid == kid:
                    return key
            # Once a second at most: unknown kids come from anyone who sends a token.
            if attempt == 0 and time.monotonic() - self._forced_at >= _FORCED_RELOAD_INTERVAL:
                self._forced_at = time.monotonic()
                self._reload()
        return None

    def is_loaded(self) -> bool:
        try:
            return bool(self._active_key())
        except KeyStoreError:
            return False

    # -- internals -----------------------------------------------------------------------

    def _active_key(self) -> SigningKey:
        self._maybe_reload()
        candidates = [k for k in self._keys if k.retired_at is None and k.has_private_part]
        if not candidates:
            raise KeyStoreError(f"no active signing key in {self._folder}")
        return max(candidates, key=lambda k: k.created_at)

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if self._keys and now - self._checked_at < self._reload_interval:
            return
        self._checked_at = now
        try:
            mtime = self._folder.stat().st_mtime_ns
        except FileNotFoundError as missing:
            raise KeyStoreError(f"key folder {self._folder} does not exist") from missing
        if mtime != self._seen_mtime:
            self._reload()

    def _reload(self) -> None:
        with self._lock:
            mtime = self._folder.stat().st_mtime_ns
            self._keys = self._read_all()
            self._seen_mtime = mtime
            self._checked_at = time.monotonic()

    def _read_all(self) -> list[SigningKey]:
        keys = []
        for path in sorted(self._folder.glob("*.json")):
            try:
                keys.append(SigningKey.from_file(json.loads(path.read_text())))
            except (ValueError, KeyError, TypeError) as bad:
                raise KeyStoreError(f"invalid key file {path}: {bad}") from bad
        return keys


def _new_key(now: datetime | None = None) -> SigningKey:
    key = OKPKey.generate_key("Ed25519", private=True)
    kid = key.thumbprint()
    jwk = {name: value for name, value in key.as_dict(private=True).items() if name != "kid"}
    return SigningKey(kid=kid, created_at=now or datetime.now(UTC), retired_at=None, jwk=jwk)


def _write_key(folder: Path, key: SigningKey) -> None:
    write_json(folder / f"{key.kid}.json", key.to_file())
