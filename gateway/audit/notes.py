"""Signed notes and transparency-log checkpoints (C2SP signed-note, tlog-checkpoint), Ed25519.

A checkpoint is the note text ``<origin>\\n<tree size>\\n<base64 root hash>\\n``, then a blank
line, then ``— <key name> <base64(4-byte key id || signature)>\\n``. The verifier key is
published as ``<name>+<8 hex digits key id>+<base64(0x01 || public key)>``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import ClassVar, Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519_TYPE = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
KEY_NAME = re.compile(r"^[^\s+]+$")


class NoteError(ValueError):
    """A note or key that cannot be read, or whose signature does not verify."""


def key_id(name: str, public_key: bytes, kind: bytes = ED25519_TYPE) -> bytes:
    """A signed-note key id: SHA-256(name || "\\n" || signature type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + kind + public_key).digest()[:4]


def write_vkey(name: str, kind: bytes, public_key: bytes) -> str:
    """A verifier key as signed-note writes it: ``<name>+<hex key id>+<base64(type || key)>``."""
    encoded = base64.b64encode(kind + public_key).decode()
    return f"{name}+{key_id(name, public_key, kind).hex()}+{encoded}"


def read_vkey(text: str, kind: bytes, what: str) -> tuple[str, Ed25519PublicKey]:
    """The name and Ed25519 key of a verifier key of signature type ``kind``; NoteError
    (saying it is not ``what``) otherwise, or if its key id does not match."""
    try:
        name, hex_id, encoded = text.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
    except ValueError as bad:
        raise NoteError("a verifier key reads <name>+<key id>+<base64 key>") from bad
    if not KEY_NAME.match(name) or raw[:1] != kind or len(raw) != 33:
        raise NoteError(f"not {what}")
    if key_id(name, raw[1:], kind).hex() != hex_id.lower():
        raise NoteError("the verifier key's id does not match its name and key")
    return name, Ed25519PublicKey.from_public_bytes(raw[1:])


@dataclass(frozen=True)
class PublicKey:
    """A named Ed25519 public key of one signed-note signature type."""

    KIND: ClassVar[bytes] = ED25519_TYPE
    WHAT: ClassVar[str] = "an Ed25519 signed-note verifier key"

    name: str
    public_key: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.raw, self.KIND)

    def vkey(self) -> str:
        return write_vkey(self.name, self.KIND, self.raw)

    @classmethod
    def from_vkey(cls, text: str) -> Self:
        return cls(*read_vkey(text, cls.KIND, cls.WHAT))


class Verifier(PublicKey):
    """The log's key, which signs its checkpoints."""


@dataclass(frozen=True)
class Signer:
    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not KEY_NAME.match(self.name):
            raise NoteError("a key name has no spaces and no '+'")

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.private_key.public_key())

    def sign(self, text: str) -> str:
        """The signed note: ``text`` (ending in a newline), a blank line, the signature line."""
        if not text.endswith("\n"):
            raise NoteError("note text must end with a newline")
        signature = self.private_key.sign(text.encode())
        encoded = base64.b64encode(self.verifier.id + signature).decode()
        return f"{text}\n{SIGNATURE_PREFIX}{self.name} {encoded}\n"


def open_note(note: str, verifier: Verifier) -> str:
    """The note's text if ``verifier`` signed it; NoteError otherwise."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise NoteError("not a signed note")
    text += "\n"
    found = False
    for line in signatures[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("malformed signature line")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise NoteError("malformed signature") from None
        if name != verifier.name or raw[:4] != verifier.id:
            continue  # another key's signature (a witness, say): not ours to check
        try:
            verifier.public_key.verify(raw[4:], text.encode())
        except InvalidSignature:
            raise NoteError("the signature does not verify") from None
        found = True
    if not found:
        raise NoteError("the note carries no signature by this key")
    return text


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not all(lines[:3]):
            raise NoteError("a checkpoint has origin, tree size and root hash lines")
        origin, size, root = lines[:3]
        if not re.fullmatch(r"0|[1-9][0-9]*", size):
            raise NoteError("the tree size is not a decimal number")
        try:
            digest = base64.b64decode(root, validate=True)
        except ValueError:
            raise NoteError("the root hash is not base64") from None
        if len(digest) != 32:
            raise NoteError("the root hash is not a SHA-256 hash")
        return cls(origin, int(size), digest)


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    return signer.sign(checkpoint.text())


def verify_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    checkpoint = Checkpoint.parse(open_note(note, verifier))
    if checkpoint.origin != verifier.name:
        raise NoteError("the checkpoint's origin is not the key's name")
    return checkpoint
