"""``POST /add-checkpoint`` and ``GET /<origin hash>/checkpoint``, status by status as C2SP
tlog-witness prescribes them."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.testclient import TestClient

from gateway.audit.cosignatures import Cosigner, WitnessPolicy, split_note, with_cosignatures
from gateway.audit.notes import Signer, verify_checkpoint
from gateway.witness.routes import MAX_BODY
from tests.witness.logs import MemoryLog, cosignature_time


def submit(client: TestClient, body: bytes) -> tuple[int, str, str]:
    response = client.post("/add-checkpoint", content=body)
    return response.status_code, response.text, response.headers.get("content-type", "")


def checkpoint_path(origin: str) -> str:
    return f"/{hashlib.sha256(origin.encode()).hexdigest()}/checkpoint"


def test_a_first_checkpoint_is_cosigned_with_the_witness_clock(client, log, cosigner, policy):
    status, body, _ = submit(client, log.body(0, 5))
    assert status == 200
    note = log.note(5)
    text, _ = split_note(note)
    assert policy.satisfied_by(with_cosignatures(note, [body]))
    raw = cosigner.key.raw
    assert cosignature_time(body, text, cosigner.name, raw) > 1_700_000_000


def test_a_consistent_larger_checkpoint_is_cosigned(client, log, policy):
    assert submit(client, log.body(0, 5))[0] == 200
    status, body, _ = submit(client, log.body(5, 13))
    assert status == 200
    assert policy.satisfied_by(with_cosignatures(log.note(13), [body]))
    # The same checkpoint again is consistent with itself.
    assert submit(client, log.body(13, 13))[0] == 200


def test_signatures_of_unknown_keys_are_ignored(client, log):
    stranger = Signer("someone.else/log", Ed25519PrivateKey.generate())
    note = log.note(3)
    text, _ = split_note(note)
    extra = stranger.sign(text).rpartition("\n\n")[2]
    assert submit(client, log.body(0, 3, note=note + extra))[0] == 200


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 0\n",
        b"old 01\n\n",
        b"old -1\n\n",
        b"new 0\n\n",
        b"old 0\nnot base64!\n\n",
        b"old 0\n" + base64.b64encode(b"short") + b"\n\n",
        b"old 0\n\nnot a checkpoint\n",
        b"old 0\n\xff\n\n",
    ],
)
def test_a_malformed_body_is_400(client, log, body):
    note = log.note(2).encode() if body.endswith(b"\n\n") else b""
    assert submit(client, body + note)[0] == 400


def test_more_than_63_proof_lines_is_400(client, log):
    proof = [hashlib.sha256(b"%d" % i).digest() for i in range(64)]
    assert submit(client, log.body(1, 2, proof=proof))[0] == 400


def test_an_old_size_above_the_checkpoint_size_is_400(client, log):
    assert submit(client, log.body(0, 8))[0] == 200
    assert submit(client, log.body(8, 5, proof=[]))[0] == 400


def test_an_unknown_origin_is_404(client):
    other = MemoryLog.seeded(b"another log", origin="elsewhere.example/audit")
    assert submit(client, other.body(0, 3))[0] == 404


def test_a_checkpoint_without_a_trusted_signature_is_403(client, log):
    impostor = MemoryLog(Signer(log.origin, Ed25519PrivateKey.generate()))
    assert submit(client, impostor.body(0, 3))[0] == 403


def test_a_trusted_key_s_failing_signature_is_403(client, log):
    text, (line,) = split_note(log.note(3))
    name, _, encoded = line.partition(" ")[2].partition(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1
    forged = f"{text}\n\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
    assert submit(client, log.body(0, 3, note=forged))[0] == 403
    # ...even next to a valid one.
    assert submit(client, log.body(0, 3, note=log.note(3) + forged.rpartition("\n\n")[2]))[0] == 403


def test_an_old_size_other_than_the_recorded_one_is_409_with_the_recorded_size(client, log):
    assert submit(client, log.body(0, 7))[0] == 200
    status, body, content_type = submit(client, log.body(4, 9))
    assert (status, body) == (409, "7\n")
    assert content_type.split(";")[0] == "text/x.tlog.size"
    assert submit(client, log.body(0, 9))[:2] == (409, "7\n")


def test_a_proof_that_fails_is_422(client, log):
    assert submit(client, log.body(0, 6))[0] == 200
    proof = log.proof(6, 11)
    proof[0] = hashlib.sha256(b"not the node").digest()
    assert submit(client, log.body(6, 11, proof=proof))[0] == 422
    assert submit(client, log.body(6, 11, proof=[]))[0] == 422


def test_old_zero_with_a_proof_is_422(client, log):
    assert submit(client, log.body(0, 4, proof=log.proof(2, 4)))[0] == 422


def test_same_size_different_root_is_422(client, log):
    assert submit(client, log.body(0, 6))[0] == 200
    assert submit(client, log.fork(3).body(6, 6))[0] == 422


def test_size_zero_with_a_root_other_than_the_empty_tree_s_is_422(client, log):
    from gateway.audit.notes import Checkpoint, sign_checkpoint

    note = sign_checkpoint(Checkpoint(log.origin, 0, log.root(1)), log.signer)
    assert submit(client, log.body(0, 0, note=note))[0] == 422
    assert submit(client, log.body(0, 0))[0] == 200


def test_a_body_larger_than_the_cap_is_refused(client, log):
    assert submit(client, log.body(0, 2) + b"x" * MAX_BODY)[0] == 413


def test_a_rolled_back_log_is_refused(client, log):
    """The log shows a smaller tree than one the witness cosigned: whatever old size it
    claims, it gets no cosignature."""
    assert submit(client, log.body(0, 10))[0] == 200
    assert submit(client, log.body(5, 5))[:2] == (409, "10\n")
    assert submit(client, log.body(0, 5))[:2] == (409, "10\n")
    assert submit(client, log.body(10, 5, proof=[]))[0] == 400


def test_a_split_view_is_refused(client, log):
    """Two trees of one origin signed by one key: once the witness cosigned one, the other
    gets no cosignature, at the same size nor any larger one."""
    other = log.fork(5)
    assert submit(client, log.body(0, 8))[0] == 200
    assert submit(client, other.body(8, 8))[0] == 422
    assert submit(client, other.body(8, 12))[0] == 422
    assert submit(client, other.body(0, 12))[:2] == (409, "8\n")
    # The first view goes on being cosigned.
    assert submit(client, log.body(8, 12))[0] == 200


def test_the_latest_cosigned_checkpoint_is_served_with_both_signatures(
    client, log, cosigner: Cosigner, policy: WitnessPolicy
):
    assert client.get(checkpoint_path(log.origin)).status_code == 404
    assert submit(client, log.body(0, 5))[0] == 200
    assert submit(client, log.body(5, 9))[0] == 200
    response = client.get(checkpoint_path(log.origin))
    assert response.status_code == 200
    assert verify_checkpoint(response.text, log.signer.verifier).size == 9
    assert policy.satisfied_by(response.text)
    assert client.get(checkpoint_path("elsewhere")).status_code == 404
    assert client.get("/not-a-hash/checkpoint").status_code == 404


def test_a_refusal_is_logged_with_status_and_origin_only(client, log, caplog):
    caplog.set_level("INFO", logger="gateway.witness.service")
    assert submit(client, log.body(0, 4, proof=log.proof(2, 4)))[0] == 422
    (record,) = [r for r in caplog.records if r.name == "gateway.witness.service"]
    assert "422" in record.getMessage()
    assert log.origin in record.getMessage()
    assert base64.b64encode(log.root(4)).decode() not in record.getMessage()
