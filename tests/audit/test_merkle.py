"""The tree code agrees with an independent RFC 6962 verifier, for every small tree and proof."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    frontier_of,
    inclusion_proof,
    leaf_hash,
    tree_root,
)
from gateway.audit.merkle import verify_consistency as gateway_consistency
from gateway.audit.merkle import verify_inclusion as gateway_inclusion
from tests.audit.rfc6962 import mth, sha256, verify_consistency, verify_inclusion

MAX = 40


def build(entries: list[bytes]):
    """A frontier over the entries, and a lookup of every perfect subtree it completed."""
    frontier, stored = Frontier(), {}
    for index, data in enumerate(entries):
        stored[(0, index)] = leaf_hash(data)
        for level, position, digest in frontier.append(leaf_hash(data)):
            stored[(level, position)] = digest

    def lookup(wanted):
        return {node: stored[node] for node in wanted}

    return frontier, lookup


ENTRIES = [f"entry {i}".encode() for i in range(MAX)]


def test_hashes_use_the_rfc_domain_prefixes():
    assert leaf_hash(b"x") == sha256(b"\x00x")
    assert sha256(b"") == EMPTY_ROOT


@pytest.mark.parametrize("size", range(MAX + 1))
def test_roots_match_the_rfc_definition(size: int):
    frontier, lookup = build(ENTRIES[:size])
    assert frontier.root() == mth(ENTRIES[:size])
    assert tree_root(size, lookup) == mth(ENTRIES[:size])


@pytest.mark.parametrize("size", range(1, MAX + 1))
def test_every_inclusion_proof_verifies_independently(size: int):
    _, lookup = build(ENTRIES[:size])
    root = mth(ENTRIES[:size])
    for index in range(size):
        path = inclusion_proof(index, size, lookup)
        assert verify_inclusion(index, size, leaf_hash(ENTRIES[index]), path, root)
        assert not verify_inclusion(index, size, leaf_hash(b"other"), path, root)


@pytest.mark.parametrize("second", range(1, MAX + 1))
def test_every_consistency_proof_verifies_independently(second: int):
    _, lookup = build(ENTRIES[:second])
    for first in range(1, second + 1):
        proof = consistency_proof(first, second, lookup)
        assert verify_consistency(first, second, mth(ENTRIES[:first]), mth(ENTRIES[:second]), proof)
        if first < second:
            assert not verify_consistency(
                first, second, mth([b"forged", *ENTRIES[1:first]]), mth(ENTRIES[:second]), proof
            )


@given(st.lists(st.binary(max_size=20), min_size=1, max_size=300), st.data())
def test_proofs_hold_for_arbitrary_logs(entries: list[bytes], data: st.DataObject):
    _, lookup = build(entries)
    size = len(entries)
    index = data.draw(st.integers(0, size - 1))
    first = data.draw(st.integers(1, size))
    root = mth(entries)
    assert verify_inclusion(
        index, size, leaf_hash(entries[index]), inclusion_proof(index, size, lookup), root
    )
    assert verify_consistency(
        first, size, mth(entries[:first]), root, consistency_proof(first, size, lookup)
    )


def test_a_frontier_survives_being_saved():
    frontier, _ = build(ENTRIES[:13])
    again = Frontier.from_state(frontier.size, frontier.to_state())
    frontier.append(leaf_hash(b"next"))
    again.append(leaf_hash(b"next"))
    assert again.root() == frontier.root() == mth([*ENTRIES[:13], b"next"])


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0)])
def test_impossible_inclusion_requests_are_refused(index: int, size: int):
    with pytest.raises(ValueError, match="index"):
        inclusion_proof(index, size, lambda wanted: {})


@pytest.mark.parametrize(("first", "second"), [(0, 3), (4, 3)])
def test_impossible_consistency_requests_are_refused(first: int, second: int):
    with pytest.raises(ValueError, match="sizes"):
        consistency_proof(first, second, lambda wanted: {})


@pytest.mark.parametrize("second", range(1, MAX + 1))
def test_the_gateways_own_proof_checks_agree_with_the_rfc(second: int):
    """What the witness and incremental verification trust: every genuine proof passes, and
    each altered one (a hash flipped, one dropped, one added, the wrong sizes) fails."""
    _, lookup = build(ENTRIES[:second])
    root = mth(ENTRIES[:second])
    for first in range(1, second + 1):
        proof = consistency_proof(first, second, lookup)
        old = mth(ENTRIES[:first])
        assert gateway_consistency(first, second, old, root, proof)
        for bad in _altered(proof):
            assert not gateway_consistency(first, second, old, root, bad)
            assert verify_consistency(first, second, old, root, bad) is False
        if first < second:
            assert not gateway_consistency(
                first, second, mth([b"forged", *ENTRIES[1:first]]), root, proof
            )
            assert (
                not gateway_consistency(first + 1, second, old, root, proof) or first + 1 == second
            )
    for index in range(second):
        proof = inclusion_proof(index, second, lookup)
        leaf = leaf_hash(ENTRIES[index])
        assert gateway_inclusion(index, second, leaf, proof, root)
        for bad in _altered(proof):
            assert not gateway_inclusion(index, second, leaf, bad, root)
        assert not gateway_inclusion(index, second, leaf_hash(b"other"), proof, root)


def _altered(proof: list[bytes]) -> list[list[bytes]]:
    flipped = [
        [*proof[:i], bytes([proof[i][0] ^ 1]) + proof[i][1:], *proof[i + 1 :]]
        for i in range(len(proof))
    ]
    dropped = [proof[:-1]] if proof else []
    return [*flipped, *dropped, [*proof, sha256(b"extra")]]


def test_the_empty_tree_is_a_prefix_of_every_tree_and_only_with_no_proof():
    assert gateway_consistency(0, 5, EMPTY_ROOT, mth(ENTRIES[:5]), [])
    assert not gateway_consistency(0, 5, EMPTY_ROOT, mth(ENTRIES[:5]), [sha256(b"x")])
    assert gateway_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not gateway_consistency(0, 0, EMPTY_ROOT, sha256(b"x"), [])
    assert not gateway_consistency(6, 5, EMPTY_ROOT, mth(ENTRIES[:5]), [])


@pytest.mark.parametrize("size", range(0, MAX + 1))
def test_a_frontier_read_from_stored_subtrees_continues_the_tree(size: int):
    _, lookup = build(ENTRIES)
    frontier = frontier_of(size, lookup)
    assert frontier.root() == mth(ENTRIES[:size])
    for data in ENTRIES[size:]:
        frontier.append(leaf_hash(data))
    assert frontier.root() == mth(ENTRIES)


@pytest.mark.parametrize("start", [0, 1, 5, 8, 13, 31])
def test_extending_a_frontier_in_one_go_grows_the_same_tree_as_appending(start: int):
    _, lookup = build(ENTRIES)
    appended, extended = frontier_of(start, lookup), frontier_of(start, lookup)
    for stop in range(start, MAX + 1, 3):
        while appended.size < stop:
            appended.append(leaf_hash(ENTRIES[appended.size]))
        extended.extend(leaf_hash(data) for data in ENTRIES[extended.size : stop])
        assert extended == appended
        assert extended.root() == mth(ENTRIES[:stop])
