"""The audit log's own keys, kept in the key folder (never in the database):

- the checkpoint signing key (Ed25519), whose name is the log's origin, and
- the pseudonym key, an HMAC-SHA256 key that turns subject ids into pseudonyms.

Whoever can read the database but not the key folder can neither forge checkpoints nor link a
pseudonym back to a person.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from gateway.audit.notes import Signer, Verifier

SIGNING_FILE = "checkpoint-signing-key.json"
PSEUDONYM_FILE = "pseudonym-key.json"


@dataclass(frozen=True)
class Pseudonymizer:
    key_id: str
    key: bytes

    def pseudonym(self, subject_id: str) -> str:
        digest = hmac.new(self.key, subject_id.encode(), hashlib.sha256).hexdigest()
        return f"{self.key_id}:{digest}"


def load_signer(key_dir: Path, origin: str) -> Signer:
    """The checkpoint signer; made on first use with ``origin`` as its name, which then stays."""
    path = _folder(key_dir) / SIGNING_FILE
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        write_new(path, {"name": origin, "ed25519": base64.b64encode(raw).decode()})
    data = json.loads(path.read_text())
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(data["ed25519"]))
    return Signer(data["name"], key)


def load_verifier(key_dir: Path) -> Verifier | None:
    """The public half of an existing checkpoint key; None if the log has none yet."""
    path = key_dir / "audit" / SIGNING_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(data["ed25519"]))
    return Signer(data["name"], key).verifier


def load_pseudonymizer(key_dir: Path) -> Pseudonymizer:
    path = _folder(key_dir) / PSEUDONYM_FILE
    if not path.exists():
        key = secrets.token_bytes(32)
        key_id = "pk-" + hashlib.sha256(key).hexdigest()[:8]
        write_new(path, {"key_id": key_id, "hmac_sha256": base64.b64encode(key).decode()})
    data = json.loads(path.read_text())
    return Pseudonymizer(data["key_id"], base64.b64decode(data["hmac_sha256"]))


def _folder(key_dir: Path) -> Path:
    folder = key_dir / "audit"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def write_new(path: Path, content: dict[str, str]) -> bool:
    """Create the key file once, complete or not at all; if another process just did, keep
    theirs and return False. (Written aside, then linked into place: a reader never sees a
    half-written key.)"""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(content, handle)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
            return True
        return False
    finally:
        os.unlink(temporary)
