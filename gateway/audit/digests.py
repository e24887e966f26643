"""Keyed digests of what an audit entry records without showing it: the payload a decision
released, and the caseworker who acted.

A plain SHA-256 of a released document can be found by hashing guesses (a residence status
has a few thousand likely values), and equal documents of two persons digest equally. So an
entry carries, under a key that lives in the key folder (never in the database):

- ``payload_hmac`` = ``<kid>:`` HMAC-SHA256(key, "payload" 0 subject 0 time 0 payload): bound
  to the person's pseudonym and the entry's own time, so equal documents never digest
  equally, neither across persons nor across one person's entries, and still checkable by
  whoever holds the key and the document (everything else it binds is in the entry);
- ``justification_hmac`` = ``<kid>:`` HMAC-SHA256(key, "justification" 0 subject 0 time 0 text):
  an emergency query's justification (``gateway.emergency``), bound the same way;
- ``caseworker`` = ``<kid>:`` HMAC-SHA256(key, "caseworker" 0 agency 0 id): keyed per acting
  agency, so equal ids at two agencies do not link, while one caseworker's actions at one
  agency share one pseudonym (until the key is rotated).

Each key is one file ``audit/digests/<kid>.json`` (mode 0600). ``gateway keys rotate`` adds a
new key, which digests from then on; older keys are kept for good, since entries never change
and their digests must stay checkable. Running processes notice a rotation by the folder's
modification time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from gateway.keys.folder import KeyFiles

KEY_BYTES = 32
_KID = re.compile(r"^dk-[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$")


class DigestKeyError(Exception):
    """The key folder holds no usable digest key, or a key file is invalid."""


@dataclass(frozen=True)
class DigestKey:
    kid: str
    created_at: datetime
    retired_at: datetime | None
    secret: bytes

    def mac(self, *parts: bytes) -> str:
        # Parts never contain a zero byte (labels, ids, pseudonyms, times) except the last,
        # the payload, so joining them with one is unambiguous.
        keyed = self._keyed.copy()  # cheaper than keying anew: this runs for every entry
        keyed.update(b"\x00".join(parts))
        return f"{self.kid}:{keyed.hexdigest()}"

    @cached_property
    def _keyed(self) -> hmac.HMAC:
        return hmac.new(self.secret, digestmod=hashlib.sha256)

    def to_file(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "created_at": self.created_at.isoformat(),
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
            "hmac_sha256": base64.urlsafe_b64encode(self.secret).decode(),
        }

    @classmethod
    def from_file(cls, data: Any) -> DigestKey:
        if not isinstance(data, dict) or not _KID.match(str(data.get("kid"))):
            raise ValueError("a digest key file holds an object whose kid reads dk-...")
        secret = base64.urlsafe_b64decode(data["hmac_sha256"])
        if len(secret) != KEY_BYTES:
            raise ValueError("a digest key has 32 bytes")
        retired = data.get("retired_at")
        return cls(
            kid=data["kid"],
            created_at=datetime.fromisoformat(data["created_at"]),
            retired_at=datetime.fromisoformat(retired) if retired else None,
            secret=secret,
        )


class DigestKeys:
    """The digest keys of one key folder."""

    def __init__(self, key_dir: Path, *, reload_interval: float = 1.0):
        self._files = KeyFiles(
            key_dir / "audit" / "digests",
            parse=DigestKey.from_file,
            new=_new_key,
            error=DigestKeyError,
            reload_interval=reload_interval,
        )

    # -- digests (request path) -----------------------------------------------------------

    def payload(self, subject: str | None, moment: str, payload: bytes) -> str:
        """The keyed digest of a released payload, for the entry about ``subject`` (its
        pseudonym) recorded at ``moment`` (the entry's time)."""
        return self.active().mac(*_parts(b"payload", subject, moment, payload))

    def justification(self, subject: str | None, moment: str, text: bytes) -> str:
        """The keyed digest of an emergency query's justification, bound like a payload's."""
        return self.active().mac(*_parts(b"justification", subject, moment, text))

    def caseworker(self, agency: str, caseworker: str) -> str:
        """The pseudonym of the caseworker ``agency`` names ``caseworker``."""
        return self.active().mac(b"caseworker", agency.encode(), caseworker.encode())

    def payload_matches(
        self, digest: str, subject: str | None, moment: str, payload: bytes
    ) -> bool:
        """Whether ``digest`` (as an entry carries it) is that of ``payload``, under whichever
        key it names."""
        return self._matches(digest, _parts(b"payload", subject, moment, payload))

    def justification_matches(
        self, digest: str, subject: str | None, moment: str, text: bytes
    ) -> bool:
        """Whether ``digest`` is that of the justification ``text``: a DPO reading a sealed
        justification sees it is the one the audit entry recorded."""
        return self._matches(digest, _parts(b"justification", subject, moment, text))

    def _matches(self, digest: str, parts: tuple[bytes, ...]) -> bool:
        kid, _, _ = digest.partition(":")
        key = self._files.key(kid) if _KID.match(kid) else None  # no folder read for junk
        expected = key.mac(*parts) if key else ""
        return hmac.compare_digest(expected, digest)

    def caseworker_pseudonyms(self, agency: str, caseworker: str) -> list[str]:
        """The caseworker's pseudonym under every key, newest first: to find their entries
        from before a rotation too."""
        keys = sorted(self._files.keys().values(), key=lambda key: key.created_at, reverse=True)
        return [key.mac(b"caseworker", agency.encode(), caseworker.encode()) for key in keys]

    def active(self) -> DigestKey:
        active = self._files.active()
        if active is None:
            raise DigestKeyError(f"no active audit digest key in {self._files.folder}")
        return active

    # -- set-up and rotation (start-up and CLI) -------------------------------------------

    def ensure(self) -> None:
        """Create the folder and a first key if there is none yet."""
        self._files.ensure()

    def rotate(self, now: datetime | None = None) -> tuple[str, str | None]:
        """Digest with a new key from now on; returns (its id, the id of the one it replaces).
        The others are retired, and kept to check the digests they made."""
        new, previous = self._files.rotate(now)
        return new.kid, previous.kid if previous else None


def open_digest_keys(key_dir: Path, reload_interval: float = 1.0) -> DigestKeys:
    keys = DigestKeys(key_dir, reload_interval=reload_interval)
    keys.ensure()
    return keys


def _parts(label: bytes, subject: str | None, moment: str, data: bytes) -> tuple[bytes, ...]:
    return label, (subject or "").encode(), moment.encode(), data


def _new_key(now: datetime) -> DigestKey:
    kid = f"dk-{now.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
    return DigestKey(kid, now, None, secrets.token_bytes(KEY_BYTES))
