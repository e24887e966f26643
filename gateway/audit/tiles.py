"""The log as C2SP tlog-tiles: Merkle tree tiles and entry bundles, read from the stored tree.

A tile at level L, index N holds up to 256 hashes of the tree's level 8·L, nodes N·256 onwards:
level 0 the leaf hashes, level 1 the roots of full level-0 tiles, and so on. A tile is full at
256 hashes; the rightmost tiles of a tree are partial (``.p/W``, W hashes). An entry bundle
holds the entries of a level-0 tile, each as a big-endian uint16 length and its bytes: the
canonical JSON the leaf hashes. A pruned entry's content is gone; the bundle then holds the
32-byte leaf hash the tree keeps in its place (a JSON entry is never 32 bytes long), so a
verifier can tell it apart and judge it by the log's records of pruning.

The gateway stores every perfect subtree's hash (``audit_nodes``), so a tile is one range read.
Only what a signed checkpoint covers is served.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.audit.tables import AuditCheckpoint, AuditEntry, AuditLeaf, AuditNode

HEIGHT = 8
WIDTH = 1 << HEIGHT
HASH_SIZE = 32
PRUNED_SIZE = HASH_SIZE  # a bundle entry of this length is a pruned entry's leaf hash
MAX_ENTRY = 0xFFFF
MAX_LEVEL = 63

_INDEX = re.compile(r"^(?:x\d{3}/)*\d{3}$")
_WIDTH = re.compile(r"^[1-9]\d{0,2}$")


@dataclass(frozen=True)
class Tile:
    """A tile (``level`` >= 0) or an entry bundle (``level`` None), ``width`` hashes wide."""

    level: int | None
    index: int
    width: int = WIDTH

    @property
    def full(self) -> bool:
        return self.width == WIDTH

    def path(self) -> str:
        """The tile's path below the log's prefix, e.g. ``tile/0/x001/x234/067.p/12``."""
        where = "entries" if self.level is None else str(self.level)
        partial = "" if self.full else f".p/{self.width}"
        return f"tile/{where}/{index_path(self.index)}{partial}"

    def exists_at(self, size: int) -> bool:
        """Whether the tree of ``size`` leaves has this tile (at this width)."""
        level = self.level or 0
        available = (size >> (HEIGHT * level)) - self.index * WIDTH
        return available >= WIDTH if self.full else 0 < self.width <= available < WIDTH

    def node_range(self) -> tuple[int, int]:
        """The tree level its hashes lie at, and the index of its first hash there."""
        return HEIGHT * (self.level or 0), self.index * WIDTH


def index_path(index: int) -> str:
    """A tile index as tlog-tiles writes it: 3-digit groups, all but the last led by ``x``."""
    digits = f"{index:d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*(f"x{group}" for group in groups[:-1]), groups[-1]])


def parse_tile(level: str, rest: str) -> Tile | None:
    """The tile a request path names (``level`` is ``entries`` for a bundle), or None if it
    names none: each path has exactly one spelling, so a cache never holds two copies."""
    if level == "entries":
        tile_level = None
    elif re.fullmatch(r"0|[1-9]\d?", level) and int(level) <= MAX_LEVEL:
        tile_level = int(level)
    else:
        return None
    index_part, dot, width_part = rest.partition(".p/")
    if not _INDEX.match(index_part):
        return None
    groups = index_part.split("/")
    if len(groups) > 1 and groups[0] == "x000":
        return None  # a leading zero group: another spelling of a shorter path
    index = int("".join(group.lstrip("x") for group in groups))
    if not dot:
        return Tile(tile_level, index)
    if not _WIDTH.match(width_part) or int(width_part) >= WIDTH:
        return None
    return Tile(tile_level, index, int(width_part))


def signed_size(session: Session) -> int:
    """The tree size of the latest signed checkpoint: tiles beyond it are not served."""
    size = session.scalar(select(AuditCheckpoint.size).order_by(AuditCheckpoint.size.desc()))
    return int(size or 0)


def read_tile(session: Session, tile: Tile) -> bytes:
    """The concatenated hashes of a tile the tree has (check ``exists_at`` first)."""
    level, first = tile.node_range()
    last = first + tile.width
    if level == 0:
        hashes = session.scalars(
            select(AuditLeaf.leaf_hash)
            .where(AuditLeaf.seq >= first, AuditLeaf.seq < last)
            .order_by(AuditLeaf.seq)
        ).all()
    else:
        hashes = session.scalars(
            select(AuditNode.hash)
            .where(AuditNode.level == level, AuditNode.idx >= first, AuditNode.idx < last)
            .order_by(AuditNode.idx)
        ).all()
    if len(hashes) != tile.width:
        raise LookupError("the stored tree lacks hashes a signed checkpoint covers")
    return b"".join(hashes)


def read_bundle(session: Session, tile: Tile) -> bytes:
    """The entry bundle of a level-0 tile the tree has (check ``exists_at`` first)."""
    _, first = tile.node_range()
    rows = session.execute(
        select(AuditLeaf.leaf_hash, AuditEntry.body)
        .outerjoin(AuditEntry, AuditEntry.id == AuditLeaf.entry_id)
        .where(AuditLeaf.seq >= first, AuditLeaf.seq < first + tile.width)
        .order_by(AuditLeaf.seq)
    ).all()
    if len(rows) != tile.width:
        raise LookupError("the stored tree lacks leaves a signed checkpoint covers")
    return encode_bundle(body.encode() if body is not None else digest for digest, body in rows)


def encode_bundle(entries: Iterable[bytes]) -> bytes:
    parts = []
    for entry in entries:
        if len(entry) > MAX_ENTRY:
            raise ValueError("an entry longer than 65535 bytes does not fit a bundle")
        parts.append(struct.pack(">H", len(entry)) + entry)
    return b"".join(parts)


def decode_bundle(data: bytes) -> Iterator[bytes]:
    """The entries of a bundle, in order; ValueError if it is not one."""
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise ValueError("an entry bundle ends inside a length")
        (length,) = struct.unpack_from(">H", data, offset)
        offset += 2
        if offset + length > len(data):
            raise ValueError("an entry bundle ends inside an entry")
        yield data[offset : offset + length]
        offset += length


def split_hashes(data: bytes) -> list[bytes]:
    if len(data) % HASH_SIZE:
        raise ValueError("a tile is a whole number of 32-byte hashes")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
