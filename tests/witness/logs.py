"""A log for witness tests, made in memory from RFC 6962 pieces: deterministic leaves, its
own checkpoint key, consistency proofs, and forks that share its key (a split view)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.merkle import EMPTY_ROOT, Frontier, consistency_proof, leaf_hash
from gateway.audit.notes import Checkpoint, Signer, sign_checkpoint


class MemoryLog:
    def __init__(self, signer: Signer, tag: bytes = b"", shared: int = 0):
        self.signer = signer
        self._tag = tag
        self._shared = shared  # leaves before this index are the original log's
        self._frontier = Frontier()
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._roots = {0: EMPTY_ROOT}

    @classmethod
    def seeded(cls, seed: bytes, origin: str = "city.example/audit") -> MemoryLog:
        key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest())
        return cls(Signer(origin, key))

    @property
    def origin(self) -> str:
        return self.signer.name

    def fork(self, at: int, tag: bytes = b" fork") -> MemoryLog:
        """The same key, the same first ``at`` leaves, then other ones."""
        return MemoryLog(self.signer, tag, at)

    def root(self, size: int) -> bytes:
        while self._frontier.size < size:
            index = self._frontier.size
            data = b"entry %d" % index + (self._tag if index >= self._shared else b"")
            leaf = leaf_hash(data)
            self._nodes[0, index] = leaf
            for level, idx, digest in self._frontier.append(leaf):
                self._nodes[level, idx] = digest
            self._roots[self._frontier.size] = self._frontier.root()
        return self._roots[size]

    def note(self, size: int) -> str:
        return sign_checkpoint(Checkpoint(self.origin, size, self.root(size)), self.signer)

    def proof(self, old: int, size: int) -> list[bytes]:
        self.root(size)
        if old == 0:
            return []
        return consistency_proof(old, size, lambda wanted: {n: self._nodes[n] for n in wanted})

    def body(self, old: int, size: int, proof: list[bytes] | None = None, note: str = "") -> bytes:
        """An add-checkpoint request body."""
        hashes = self.proof(old, size) if proof is None else proof
        lines = "".join(base64.b64encode(h).decode() + "\n" for h in hashes)
        return f"old {old}\n{lines}\n{note or self.note(size)}".encode()


def cosignature_time(line: str, note_text: str, name: str, public_key: bytes) -> int:
    """The time in a tlog-cosignature line, checked from the spec's definitions alone (not
    through gateway.audit.cosignatures); raises if it is not this witness's valid one."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    prefix = f"\u2014 {name} "
    assert line.startswith(prefix), line
    assert line.endswith("\n"), line
    raw = base64.b64decode(line[len(prefix) : -1], validate=True)
    assert len(raw) == 4 + 8 + 64
    assert raw[:4] == hashlib.sha256(name.encode() + b"\n\x04" + public_key).digest()[:4]
    timestamp = int.from_bytes(raw[4:12], "big")
    message = f"cosignature/v1\ntime {timestamp}\n{note_text}".encode()
    Ed25519PublicKey.from_public_bytes(public_key).verify(raw[12:], message)
    return timestamp
