"""The signed checkpoint, the log's key, and inclusion and consistency proofs, checked with an
independent RFC 6962 verifier and by hand from the C2SP text."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidSignature
from fastapi.testclient import TestClient

from gateway.audit.notes import Verifier, verify_checkpoint
from gateway.runtime import Runtime
from tests.audit import rfc6962
from tests.audit.dpo_api.seeded import (  # log: the shared fixture
    T0,
    Log,
    all_entry_ids,
    assert_problem,
    canonical_leaf,
    export_jsonl,
    hand_verified_checkpoint,
    publish,
    record,
    unsubjected_denial,
)

# -- checkpoint and key ----------------------------------------------------------------------


def test_no_checkpoint_yet_is_a_404_problem(http: TestClient, log: Log):
    response = http.get("/v1/audit/checkpoint", headers=log.dpo)
    assert_problem(response, 404, "/problems/no-checkpoint")


def test_the_checkpoint_is_a_signed_note_that_verifies_with_the_published_key(
    http: TestClient, log: Log, runtime: Runtime
):
    size = publish(runtime)
    response = http.get("/v1/audit/checkpoint", headers=log.dpo)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    note = response.text
    key = http.get("/v1/audit/key", headers=log.dpo)
    assert key.status_code == 200
    assert key.headers["content-type"].startswith("text/plain")

    checkpoint = verify_checkpoint(note, Verifier.from_vkey(key.text))
    assert checkpoint.size == size == len(all_entry_ids(runtime))
    assert hand_verified_checkpoint(note, key.text) == (
        checkpoint.origin,
        checkpoint.size,
        checkpoint.root,
    )


def test_a_checkpoint_with_a_changed_size_fails_the_hand_check(
    http: TestClient, log: Log, runtime: Runtime
):
    """The hand check above can fail: a note whose text was altered does not verify."""
    size = publish(runtime)
    note = http.get("/v1/audit/checkpoint", headers=log.dpo).text
    vkey = http.get("/v1/audit/key", headers=log.dpo).text
    origin = note.split("\n", 1)[0]
    forged = note.replace(f"{origin}\n{size}\n", f"{origin}\n{size + 1}\n", 1)
    assert forged != note
    with pytest.raises(InvalidSignature):
        hand_verified_checkpoint(forged, vkey)


def test_the_checkpoint_root_is_the_rfc6962_hash_of_the_exported_entries(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    vkey = http.get("/v1/audit/key", headers=log.dpo).text
    _, size, root = hand_verified_checkpoint(
        http.get("/v1/audit/checkpoint", headers=log.dpo).text, vkey
    )
    lines, _ = export_jsonl(http, log)
    assert [line["seq"] for line in lines] == list(range(size))
    assert rfc6962.mth([canonical_leaf(line["entry"]) for line in lines]) == root


# -- proofs ----------------------------------------------------------------------------------


def checkpoint_root(http: TestClient, log: Log) -> tuple[int, bytes]:
    vkey = http.get("/v1/audit/key", headers=log.dpo).text
    _, size, root = hand_verified_checkpoint(
        http.get("/v1/audit/checkpoint", headers=log.dpo).text, vkey
    )
    return size, root


def inclusion(http: TestClient, log: Log, index: int, tree_size: int) -> tuple[bytes, list[bytes]]:
    response = http.get(
        "/v1/audit/proofs/inclusion",
        params={"index": index, "tree_size": tree_size},
        headers=log.dpo,
    )
    assert response.status_code == 200, response.text
    proof = response.json()
    assert (proof["index"], proof["tree_size"]) == (index, tree_size)
    return base64.b64decode(proof["leaf_hash"]), [base64.b64decode(h) for h in proof["hashes"]]


def consistency(http: TestClient, log: Log, first: int, second: int) -> list[bytes]:
    response = http.get(
        "/v1/audit/proofs/consistency",
        params={"first": first, "second": second},
        headers=log.dpo,
    )
    assert response.status_code == 200, response.text
    proof = response.json()
    assert (proof["first"], proof["second"]) == (first, second)
    return [base64.b64decode(h) for h in proof["hashes"]]


def test_every_entry_has_an_inclusion_proof_to_the_checkpoint_root(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    size, root = checkpoint_root(http, log)
    lines, _ = export_jsonl(http, log)
    assert size == len(lines) >= 10
    for index in range(size):
        leaf, path = inclusion(http, log, index, size)
        assert leaf == rfc6962.sha256(b"\x00" + canonical_leaf(lines[index]["entry"]))
        assert rfc6962.verify_inclusion(index, size, leaf, path, root), index
        # The same proof does not place the leaf anywhere else.
        assert not rfc6962.verify_inclusion((index + 1) % size, size, leaf, path, root)


def test_inclusion_proofs_in_an_older_tree_verify_against_its_root(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    lines, _ = export_jsonl(http, log)
    leaves = [canonical_leaf(line["entry"]) for line in lines]
    record(runtime, (unsubjected_denial("r8"), T0))
    publish(runtime)
    for tree_size in range(1, len(leaves) + 1):
        root = rfc6962.mth(leaves[:tree_size])
        for index in range(tree_size):
            leaf, path = inclusion(http, log, index, tree_size)
            assert rfc6962.verify_inclusion(index, tree_size, leaf, path, root), (index, tree_size)


def test_consistency_proofs_link_two_published_checkpoints(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    first, first_root = checkpoint_root(http, log)
    for number in range(5):
        record(runtime, (unsubjected_denial(f"later-{number}"), T0))
    publish(runtime)
    second, second_root = checkpoint_root(http, log)
    assert second == first + 5

    proof = consistency(http, log, first, second)
    assert rfc6962.verify_consistency(first, second, first_root, second_root, proof)
    tampered = bytes([first_root[0] ^ 1]) + first_root[1:]
    assert not rfc6962.verify_consistency(first, second, tampered, second_root, proof)


def test_consistency_proofs_hold_between_any_two_sizes(
    http: TestClient, log: Log, runtime: Runtime
):
    publish(runtime)
    lines, _ = export_jsonl(http, log)
    leaves = [canonical_leaf(line["entry"]) for line in lines]
    roots = {n: rfc6962.mth(leaves[:n]) for n in range(1, len(leaves) + 1)}
    for second in roots:
        for first in range(1, second + 1):
            proof = consistency(http, log, first, second)
            assert rfc6962.verify_consistency(first, second, roots[first], roots[second], proof), (
                first,
                second,
            )


@pytest.mark.parametrize(
    ("route", "params", "path"),
    [
        ("inclusion", {"index": "{size}", "tree_size": "{size}"}, "/query/index"),
        ("inclusion", {"index": "0", "tree_size": "{size+1}"}, "/query/tree_size"),
        ("inclusion", {"index": "0", "tree_size": "0"}, "/query/tree_size"),
        ("inclusion", {"index": "-1", "tree_size": "{size}"}, "/query/index"),
        ("inclusion", {"index": "one", "tree_size": "{size}"}, "/query/index"),
        ("inclusion", {"tree_size": "{size}"}, "/query/index"),
        ("inclusion", {"index": "0", "tree_size": "9" * 30}, "/query/tree_size"),
        ("consistency", {"first": "0", "second": "{size}"}, "/query/first"),
        ("consistency", {"first": "{size}", "second": "{size-1}"}, "/query/first"),
        ("consistency", {"first": "1", "second": "{size+1}"}, "/query/second"),
        ("consistency", {"first": "1", "second": "0"}, "/query/second"),
        ("consistency", {"first": "1"}, "/query/second"),
        ("consistency", {"first": "1", "second": "9" * 30}, "/query/second"),
    ],
)
def test_a_proof_outside_the_signed_tree_is_a_422_problem(
    http: TestClient,
    log: Log,
    runtime: Runtime,
    route: str,
    params: dict[str, str],
    path: str,
):
    size = publish(runtime)
    sizes = {"{size}": size, "{size+1}": size + 1, "{size-1}": size - 1}
    query = {name: str(sizes.get(value, value)) for name, value in params.items()}
    response = http.get(f"/v1/audit/proofs/{route}", params=query, headers=log.dpo)
    body = assert_problem(response, 422, "/problems/invalid-request")
    assert path in [error["path"] for error in body["errors"]]


def test_no_proof_exists_before_the_first_checkpoint(http: TestClient, log: Log):
    response = http.get(
        "/v1/audit/proofs/inclusion", params={"index": 0, "tree_size": 1}, headers=log.dpo
    )
    assert_problem(response, 422, "/problems/invalid-request")
    response = http.get(
        "/v1/audit/proofs/consistency", params={"first": 1, "second": 1}, headers=log.dpo
    )
    assert_problem(response, 422, "/problems/invalid-request")
