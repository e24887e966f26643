"""Witness cosignatures (C2SP tlog-cosignature, the Ed25519 type) and witness policies.

A cosignature is a signed-note signature line on a checkpoint:
``— <witness name> base64(key id || timestamp || signature)``. Its key id is
SHA-256(name || "\\n" || 0x04 || public key)[:4]; the timestamp is a big-endian u64 of POSIX
seconds; the signature is Ed25519 over ``cosignature/v1\\ntime <timestamp>\\n`` followed by
the checkpoint's note text. It says: as of that time, this is the largest tree the witness
has seen of this log, consistent with everything it saw before.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.notes import KEY_NAME, SIGNATURE_PREFIX, NoteError, PublicKey

COSIGNATURE_TYPE = b"\x04"
_MAX_TIMESTAMP = 2**63 - 1


def signed_message(note_text: str, timestamp: int) -> bytes:
    """What a cosignature signs: the header, the time, then the checkpoint's note text."""
    return f"cosignature/v1\ntime {timestamp}\n{note_text}".encode()


class WitnessKey(PublicKey):
    """A witness's public identity: its name and Ed25519 cosigning key."""

    KIND = COSIGNATURE_TYPE
    WHAT = "an Ed25519 cosignature verifier key (type 0x04)"

    def timestamp_of(self, line: str, note_text: str) -> int | None:
        """The time this witness cosigned ``note_text`` in signature ``line``; None if the line
        is another key's. NoteError if it is this key's but does not verify."""
        if not line.startswith(SIGNATURE_PREFIX):
            return None
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if name != self.name:
            return None
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise NoteError("malformed cosignature") from None
        if raw[:4] != self.id:
            return None
        if len(raw) != 4 + 8 + 64:
            raise NoteError("a cosignature holds a key id, a time and an Ed25519 signature")
        (timestamp,) = struct.unpack(">Q", raw[4:12])
        if timestamp > _MAX_TIMESTAMP:
            raise NoteError("the cosignature's time is out of range")
        try:
            self.public_key.verify(raw[12:], signed_message(note_text, timestamp))
        except InvalidSignature:
            raise NoteError("the cosignature does not verify") from None
        return int(timestamp)


@dataclass(frozen=True)
class Cosigner:
    """A witness's private key, which cosigns checkpoints it found consistent."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not KEY_NAME.match(self.name):
            raise NoteError("a key name has no spaces and no '+'")

    @property
    def key(self) -> WitnessKey:
        return WitnessKey(self.name, self.private_key.public_key())

    def cosign(self, note_text: str, timestamp: int) -> str:
        """The signature line (ending in a newline) over the checkpoint's ``note_text``."""
        if not note_text.endswith("\n"):
            raise NoteError("note text must end with a newline")
        if not 0 < timestamp <= _MAX_TIMESTAMP:
            raise NoteError("a cosignature's time is a positive POSIX timestamp")
        signature = self.private_key.sign(signed_message(note_text, timestamp))
        raw = self.key.id + struct.pack(">Q", timestamp) + signature
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(raw).decode()}\n"


def split_note(note: str) -> tuple[str, list[str]]:
    """A signed note's text (ending in a newline) and its signature lines (without newlines)."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise NoteError("not a signed note")
    return text + "\n", signatures[:-1].split("\n")


@dataclass(frozen=True)
class WitnessPolicy:
    """Which witnesses count, and how many of them must have cosigned (k of n)."""

    witnesses: tuple[WitnessKey, ...] = ()
    quorum: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.quorum <= len(self.witnesses):
            raise ValueError("the quorum must be between 0 and the number of witnesses")
        if len({witness.name for witness in self.witnesses}) != len(self.witnesses):
            raise ValueError("two witnesses share one name")

    def cosigned_by(self, note: str) -> dict[str, int]:
        """The policy's witnesses whose cosignature on ``note`` verifies, with its time.
        Lines of unknown keys are ignored; a known key's line that fails is a NoteError."""
        text, lines = split_note(note)
        found: dict[str, int] = {}
        for line in lines:
            for witness in self.witnesses:
                timestamp = witness.timestamp_of(line, text)
                if timestamp is not None:
                    found[witness.name] = timestamp
        return found

    def satisfied_by(self, note: str) -> bool:
        return len(self.cosigned_by(note)) >= self.quorum


def with_cosignatures(note: str, lines: Iterable[str]) -> str:
    """``note`` with the signature ``lines`` (each ending in a newline) added after its own,
    each once."""
    text, present = split_note(note)
    added = [line.rstrip("\n") for line in lines]
    kept = present + [line for line in dict.fromkeys(added) if line not in present]
    return text + "\n" + "".join(f"{line}\n" for line in kept)
