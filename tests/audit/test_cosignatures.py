"""Witness cosignatures follow C2SP tlog-cosignature (Ed25519): checked here by hand from the
specification's text, and against tampering."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.cosignatures import Cosigner, WitnessKey, WitnessPolicy, with_cosignatures
from gateway.audit.notes import Checkpoint, NoteError, Signer, sign_checkpoint

ORIGIN = "gateway.example/audit"
TIME = 1_796_000_000


@pytest.fixture
def note() -> str:
    signer = Signer(ORIGIN, Ed25519PrivateKey.generate())
    return sign_checkpoint(Checkpoint(ORIGIN, 42, hashlib.sha256(b"root").digest()), signer)


def witness(name: str = "witness.example/w1") -> Cosigner:
    return Cosigner(name, Ed25519PrivateKey.generate())


def test_a_cosignature_is_what_the_specification_says(note: str):
    cosigner = witness()
    line = cosigner.cosign(note.split("\n\n")[0] + "\n", TIME)
    name, encoded = line.removeprefix("\u2014 ").rstrip("\n").split(" ")
    raw = base64.b64decode(encoded)
    public = cosigner.key.raw
    assert name == "witness.example/w1"
    assert raw[:4] == hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
    assert struct.unpack(">Q", raw[4:12]) == (TIME,)
    message = f"cosignature/v1\ntime {TIME}\n{ORIGIN}\n42\n".encode()
    message += base64.b64encode(hashlib.sha256(b"root").digest()) + b"\n"
    cosigner.private_key.public_key().verify(raw[12:], message)  # raises if not


def test_the_vkey_names_the_cosignature_type_and_reads_back():
    key = witness().key
    vkey = key.vkey()
    assert base64.b64decode(vkey.split("+", 2)[2])[:1] == b"\x04"
    assert WitnessKey.from_vkey(vkey) == key


@pytest.mark.parametrize(
    "bad",
    [
        "no-plus-signs",
        "name+00000000+!!!",
        # a checkpoint (type 0x01) key is not a cosigning key
        Signer("w", Ed25519PrivateKey.generate()).verifier.vkey(),
    ],
)
def test_what_is_not_a_cosigning_key_is_refused(bad: str):
    with pytest.raises(NoteError):
        WitnessKey.from_vkey(bad)


def test_a_wrong_key_id_is_refused():
    name, _, encoded = witness().key.vkey().split("+", 2)
    with pytest.raises(NoteError, match="id"):
        WitnessKey.from_vkey(f"{name}+00000000+{encoded}")


def test_a_policy_counts_the_witnesses_whose_cosignature_verifies(note: str):
    one, two, three = witness("w1.example"), witness("w2.example"), witness("w3.example")
    policy = WitnessPolicy((one.key, two.key, three.key), quorum=2)
    text = note.split("\n\n")[0] + "\n"
    single = with_cosignatures(note, [one.cosign(text, TIME)])
    assert policy.cosigned_by(single) == {"w1.example": TIME}
    assert not policy.satisfied_by(single)
    stranger = witness("stranger.example")
    both = with_cosignatures(single, [two.cosign(text, TIME + 1), stranger.cosign(text, TIME)])
    assert policy.cosigned_by(both) == {"w1.example": TIME, "w2.example": TIME + 1}
    assert policy.satisfied_by(both)
    assert with_cosignatures(both, [one.cosign(text, TIME)]).count("w1.example") == 1


def test_a_cosignature_moved_to_another_checkpoint_fails(note: str):
    cosigner = witness()
    other = note.replace("\n42\n", "\n43\n", 1)
    line = cosigner.cosign(note.split("\n\n")[0] + "\n", TIME)
    policy = WitnessPolicy((cosigner.key,), quorum=1)
    with pytest.raises(NoteError, match="does not verify"):
        policy.cosigned_by(with_cosignatures(other, [line]))


def test_a_cosignature_with_its_time_changed_fails(note: str):
    cosigner = witness()
    line = cosigner.cosign(note.split("\n\n")[0] + "\n", TIME)
    name, encoded = line.removeprefix("\u2014 ").rstrip("\n").split(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[4:12] = struct.pack(">Q", TIME + 3600)
    forged = f"\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(NoteError):
        WitnessPolicy((cosigner.key,), quorum=1).cosigned_by(with_cosignatures(note, [forged]))


def test_a_quorum_cannot_exceed_the_witnesses():
    with pytest.raises(ValueError, match="quorum"):
        WitnessPolicy((witness().key,), quorum=2)
