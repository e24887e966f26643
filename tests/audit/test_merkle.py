"""The tree code agrees with an independent RFC 6962 verifier, for every small tree and proof."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_root,
)
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
