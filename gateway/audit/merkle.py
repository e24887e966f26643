"""RFC 6962 (RFC 9162 §2.1) Merkle tree hashing, kept free of storage.

Leaves hash as SHA-256(0x00 || data), interior nodes as SHA-256(0x01 || left || right). A tree
of n leaves splits at k, the largest power of two below n: the left part is always a perfect,
aligned subtree. The log stores the hash of every perfect subtree (level L, index i covers
leaves [i·2^L, (i+1)·2^L)), so any root or proof needs only O(log n) stored hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

EMPTY_ROOT = hashlib.sha256(b"").digest()

# A stored perfect subtree: (level, index) -> hash; level 0 are the leaf hashes.
NodeId = tuple[int, int]
NodeLookup = Callable[[list[NodeId]], dict[NodeId, bytes]]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two smaller than ``size`` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


@dataclass
class Frontier:
    """The right edge of a tree: roots of its perfect subtrees, largest first.

    Appending a leaf completes new perfect subtrees; ``append`` returns them for storage.
    """

    size: int = 0
    nodes: list[tuple[int, int, bytes]] = field(default_factory=list)  # (level, index, hash)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        completed = []
        level, index, digest = 0, self.size, leaf
        while self.nodes and self.nodes[-1][0] == level:
            _, left_index, left = self.nodes.pop()
            level, index, digest = level + 1, left_index // 2, node_hash(left, digest)
            completed.append((level, index, digest))
        self.nodes.append((level, index, digest))
        self.size += 1
        return completed

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append many leaves without reporting the subtrees they complete: verification's
        walk, where this loop is much of the work. The edge is held as bare hashes meanwhile
        (a subtree's level and index follow from the size): each trailing zero bit of the new
        size is one pair of subtrees merged."""
        digests = [digest for _, _, digest in self.nodes]
        size, sha256 = self.size, hashlib.sha256
        for leaf in leaves:
            size += 1
            digest, merges = leaf, size
            while not merges & 1:
                digest = sha256(b"\x01" + digests.pop() + digest).digest()
                merges >>= 1
            digests.append(digest)
        self.size = size
        self.nodes = [
            (level, index, digest)
            for (level, index), digest in zip(perfect_subtrees(size), digests, strict=True)
        ]

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        digest = self.nodes[-1][2]
        for _, _, left in reversed(self.nodes[:-1]):
            digest = node_hash(left, digest)
        return digest

    def to_state(self) -> list[list[object]]:
        return [[level, index, digest.hex()] for level, index, digest in self.nodes]

    @classmethod
    def from_state(cls, size: int, state: Iterable[list[object]]) -> Frontier:
        nodes = [(int(lv), int(ix), bytes.fromhex(str(h))) for lv, ix, h in state]  # type: ignore[call-overload]
        return cls(size, nodes)


class _Tree:
    """Hashes of leaf ranges, computed from the stored perfect subtrees."""

    def __init__(self, known: dict[NodeId, bytes] | None = None):
        self.known = known
        self.needed: list[NodeId] = []

    def range_hash(self, lo: int, hi: int) -> bytes:
        size = hi - lo
        if size & (size - 1) == 0 and lo % size == 0:
            node = (size.bit_length() - 1, lo // size)
            if self.known is None:
                self.needed.append(node)
                return b""
            return self.known[node]
        k = split_point(size)
        return node_hash(self.range_hash(lo, lo + k), self.range_hash(lo + k, hi))

    def inclusion(self, index: int, lo: int, hi: int) -> list[bytes]:
        if hi - lo == 1:
            return []
        k = split_point(hi - lo)
        if index < lo + k:
            return [*self.inclusion(index, lo, lo + k), self.range_hash(lo + k, hi)]
        return [*self.inclusion(index, lo + k, hi), self.range_hash(lo, lo + k)]

    def consistency(self, first: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        size = hi - lo
        if first == size:
            return [] if whole else [self.range_hash(lo, hi)]
        k = split_point(size)
        if first <= k:
            return [*self.consistency(first, lo, lo + k, whole), self.range_hash(lo + k, hi)]
        return [*self.consistency(first - k, lo + k, hi, False), self.range_hash(lo, lo + k)]


def _with_lookup(compute: Callable[[_Tree], list[bytes]], lookup: NodeLookup) -> list[bytes]:
    """Run ``compute`` once to learn which stored subtrees it needs, fetch them in one go, then
    run it again with the hashes."""
    planning = _Tree()
    compute(planning)
    known = lookup(sorted(set(planning.needed)))
    return compute(_Tree(known))


def inclusion_proof(index: int, size: int, lookup: NodeLookup) -> list[bytes]:
    """RFC 6962 §2.1.1 audit path of leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ValueError("index must be within the tree")
    return _with_lookup(lambda tree: tree.inclusion(index, 0, size), lookup)


def consistency_proof(first: int, second: int, lookup: NodeLookup) -> list[bytes]:
    """RFC 6962 §2.1.2 proof that the tree of ``first`` leaves is a prefix of ``second``."""
    if not 0 < first <= second:
        raise ValueError("sizes must satisfy 0 < first <= second")
    if first == second:
        return []
    return _with_lookup(lambda tree: tree.consistency(first, 0, second, True), lookup)


def tree_root(size: int, lookup: NodeLookup) -> bytes:
    if size == 0:
        return EMPTY_ROOT
    (root,) = _with_lookup(lambda tree: [tree.range_hash(0, size)], lookup)
    return root


def perfect_subtrees(size: int) -> list[NodeId]:
    """The perfect subtrees a tree of ``size`` leaves is made of, largest (leftmost) first:
    the nodes of its frontier."""
    found, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            found.append((level, start >> level))
            start += 1 << level
    return found


def frontier_of(size: int, lookup: NodeLookup) -> Frontier:
    """The right edge of the tree of ``size`` leaves, read from stored subtrees: where a walk
    that checks only the leaves after ``size`` starts."""
    wanted = perfect_subtrees(size)
    known = lookup(wanted)
    return Frontier(size, [(level, index, known[level, index]) for level, index in wanted])


def _climb(fn: int, sn: int) -> tuple[int, int]:
    while fn & 1 == 0 and fn != 0:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: whether ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree
    of ``size`` leaves with ``root``."""
    if not 0 <= index < size:
        return False
    fn, sn, digest = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            digest = node_hash(sibling, digest)
            fn, sn = _climb(fn, sn)
        else:
            digest = node_hash(digest, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and digest == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: whether ``proof`` shows the tree of ``first`` leaves (``first_root``)
    to be a prefix of the tree of ``second`` leaves (``second_root``). The empty tree is a
    prefix of every tree, with an empty proof."""
    if not 0 <= first <= second:
        return False
    if first == 0:
        return not proof and (second > 0 or second_root == EMPTY_ROOT)
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = [first_root, *proof] if first & (first - 1) == 0 else list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for sibling in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(sibling, fr), node_hash(sibling, sr)
            fn, sn = _climb(fn, sn)
        else:
            sr = node_hash(sr, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root
