"""Checkpoints are C2SP signed notes that anyone can check with the public key alone."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.audit.notes import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    sign_checkpoint,
    verify_checkpoint,
)

ORIGIN = "gateway.example/audit"


@pytest.fixture
def signer() -> Signer:
    return Signer(ORIGIN, Ed25519PrivateKey.generate())


def test_a_checkpoint_note_has_the_c2sp_layout(signer: Signer):
    root = hashlib.sha256(b"root").digest()
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, root), signer)
    lines = note.split("\n")
    assert lines[:4] == [ORIGIN, "42", base64.b64encode(root).decode(), ""]
    assert lines[4].startswith(f"\u2014 {ORIGIN} ")
    assert lines[5:] == [""]


def test_the_signature_verifies_with_the_public_key_alone(signer: Signer):
    """Check by hand, as the specification says, without the gateway's note code."""
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, hashlib.sha256(b"r").digest()), signer)
    text, signature_line = note.split("\n\n")
    raw = base64.b64decode(signature_line.rstrip("\n").split(" ")[2])
    public = signer.private_key.public_key()
    public_bytes = Verifier(ORIGIN, public).raw
    expected_id = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + public_bytes).digest()[:4]
    assert raw[:4] == expected_id
    Ed25519PublicKey.from_public_bytes(public_bytes).verify(raw[4:], (text + "\n").encode())


def test_vkey_round_trips_and_has_the_note_format(signer: Signer):
    vkey = signer.verifier.vkey()
    name, key_id, key = vkey.split("+", 2)
    assert name == ORIGIN
    assert len(key_id) == 8
    assert base64.b64decode(key)[0] == 1
    assert Verifier.from_vkey(vkey).raw == signer.verifier.raw


def test_a_verified_checkpoint_is_parsed(signer: Signer):
    root = hashlib.sha256(b"r").digest()
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, root), signer)
    assert verify_checkpoint(note, signer.verifier) == Checkpoint(ORIGIN, 3, root)


def test_a_changed_checkpoint_is_refused(signer: Signer):
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, hashlib.sha256(b"r").digest()), signer)
    with pytest.raises(NoteError, match="does not verify"):
        verify_checkpoint(note.replace("\n3\n", "\n4\n", 1), signer.verifier)


def test_another_key_signature_is_not_accepted(signer: Signer):
    other = Signer(ORIGIN, Ed25519PrivateKey.generate())
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, hashlib.sha256(b"r").digest()), other)
    with pytest.raises(NoteError, match="no signature by this key"):
        verify_checkpoint(note, signer.verifier)


@pytest.mark.parametrize(
    "vkey",
    ["nonsense", "a+b+c", "name+00000000+AQ==", f"{ORIGIN}+deadbeef+" + "A" * 44],
)
def test_malformed_verifier_keys_are_refused(vkey: str):
    with pytest.raises(NoteError):
        Verifier.from_vkey(vkey)


def test_a_key_name_with_a_space_is_refused():
    with pytest.raises(NoteError):
        Signer("has space", Ed25519PrivateKey.generate())
