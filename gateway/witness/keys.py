"""The witness's own Ed25519 key, kept in its folder (never in its store).

Whoever holds this file can cosign in the witness's name, so it is made once, mode 0600, and
written aside then linked into place: a reader never sees half a key, and two ``init`` runs
racing keep the first.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from gateway.audit.cosignatures import Cosigner
from gateway.audit.keys import write_new

KEY_FILE = "witness-key.json"


class WitnessKeyExists(FileExistsError):
    """The folder holds a witness key already; making another would change the witness."""


def create_cosigner(folder: Path, name: str) -> Cosigner:
    """Make the witness key named ``name`` in ``folder``; WitnessKeyExists if there is one."""
    key = Ed25519PrivateKey.generate()
    cosigner = Cosigner(name, key)  # refuses a name a signed note cannot carry
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    content = {"name": name, "ed25519": base64.b64encode(raw).decode()}
    if not write_new(folder / KEY_FILE, content):
        raise WitnessKeyExists(folder / KEY_FILE)
    return cosigner


def load_cosigner(folder: Path) -> Cosigner:
    """The witness key in ``folder``; FileNotFoundError if ``init`` never made one."""
    data = json.loads((folder / KEY_FILE).read_text())
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(data["ed25519"]))
    return Cosigner(data["name"], key)
