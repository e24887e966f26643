"""How the submitter reads a witness's answers: it keeps only cosignatures that verify with
the witness's key, follows a 409 down to a witness that lost its state, and reports a refusal
once, not every round."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.cosignatures import Cosigner
from gateway.audit.tables import AuditCosignature
from gateway.runtime import Runtime
from gateway.witness.store import STORE_FILE, WitnessStore
from tests.audit.witnessing.conftest import WitnessServer, grow, witnessing

NAME = "dpo.example/witness"


def cosignature_by(cosigner: Cosigner):
    """A witness that answers every submission with ``cosigner``'s cosignature."""

    def answer(request: httpx.Request) -> httpx.Response:
        note = request.content.decode().partition("\n\n")[2]
        text = note.rpartition("\n\n")[0] + "\n"
        return httpx.Response(200, text=cosigner.cosign(text, 1_800_000_000))

    return httpx.MockTransport(answer)


def stored(runtime: Runtime) -> int:
    with runtime.database.transaction(read_only=True) as session:
        return session.query(AuditCosignature).count()


def test_a_cosignature_that_does_not_verify_is_never_stored(runtime: Runtime):
    """Signed by another key under the witness's name: its key id differs, so it is not the
    witness's cosignature at all."""
    impostor = Cosigner(NAME, Ed25519PrivateKey.generate())
    with witnessing(runtime, transport=cosignature_by(impostor)) as submitter:
        grow(runtime)
        (outcome,) = submitter.round()
    assert outcome.problem == "bad_cosignature"
    assert stored(runtime) == 0


def test_a_forged_cosignature_under_the_witness_s_key_id_is_never_stored(
    runtime: Runtime, witness: WitnessServer, caplog
):
    genuine = witness.cosigner

    def answer(request: httpx.Request) -> httpx.Response:
        note = request.content.decode().partition("\n\n")[2]
        text = note.rpartition("\n\n")[0] + "\n"
        prefix, _, encoded = genuine.cosign(text, 1_800_000_000).rpartition(" ")
        raw = bytearray(base64.b64decode(encoded))
        raw[-1] ^= 1  # the key id and time stay the witness's; the signature fails
        return httpx.Response(200, text=f"{prefix} {base64.b64encode(bytes(raw)).decode()}\n")

    caplog.set_level(logging.WARNING, logger="gateway.audit.witnessing")
    with witnessing(runtime, transport=httpx.MockTransport(answer)) as submitter:
        grow(runtime)
        assert submitter.round()[0].problem == "bad_cosignature"
    assert stored(runtime) == 0
    assert f"witness {NAME} answered with a cosignature that does not verify" in caplog.text


def test_a_witness_that_lost_its_state_is_brought_back_from_its_size(
    runtime: Runtime, trusted: WitnessServer, tmp_path: Path
):
    with trusted.running(), witnessing(runtime) as submitter:
        grow(runtime)
        assert submitter.round()[0].problem is None
    (tmp_path / "witness" / STORE_FILE).unlink()
    for leftover in (tmp_path / "witness").glob(f"{STORE_FILE}-*"):
        leftover.unlink()
    trusted.store = WitnessStore.in_folder(tmp_path / "witness")
    trusted.store.add_log(runtime.audit.verifier)
    with trusted.running(), witnessing(runtime) as submitter:
        size = grow(runtime)
        assert submitter.round()[0].size == size  # 409 "0", then again from 0
    assert stored(runtime) == 2


def test_a_refusal_is_logged_when_it_begins_not_every_round(
    runtime: Runtime, witness: WitnessServer, caplog
):
    caplog.set_level(logging.WARNING, logger="gateway.audit.witnessing")
    refusing = httpx.MockTransport(lambda request: httpx.Response(422, text="no\n"))
    with witnessing(runtime, transport=refusing) as submitter:
        grow(runtime)
        for _ in range(3):
            assert submitter.round()[0].problem == "inconsistent"
    assert caplog.text.count(f"witness {NAME} refused checkpoint") == 1
