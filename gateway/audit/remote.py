"""Verifying a running gateway's log from outside, over its C2SP tlog-tiles: what a DPO, a
supervisory authority or a witness's operator can do with the log's public key alone (and a
token, unless the operator made the log public).

From a checkpoint kept from last time, it reads the right edge of that tree from the tiles,
checks it against the kept root, fetches only the entries added since, recomputes the tree
over them and compares every signature; time and traffic grow with the new entries, not with
the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from gateway.audit.merkle import NodeId, NodeLookup, node_hash
from gateway.audit.query import LeafRow
from gateway.audit.tiles import HEIGHT, PRUNED_SIZE, WIDTH, Tile, decode_bundle, split_hashes

_RECORD_OF_PRUNING = b'"audit.pruned"'
TIMEOUT = 30.0
FETCHERS = 4  # requests in flight at once
WINDOW = 16  # bundles fetched ahead of the walk


class RemoteLogError(RuntimeError):
    """The log's server could not be read (unreachable, refused, or not a tiled log)."""


@dataclass
class TiledLog:
    """A log read over HTTP at ``prefix`` (e.g. ``https://gateway.example/v1/audit/log``)."""

    prefix: str
    client: httpx.Client
    kept: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def open(cls, prefix: str, token: str | None = None) -> TiledLog:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return cls(prefix.rstrip("/"), httpx.Client(headers=headers, timeout=TIMEOUT))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> TiledLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def checkpoint(self) -> str:
        return self._get("checkpoint").decode()

    def tile(self, tile: Tile) -> bytes:
        path = tile.path()
        if path in self.kept:
            return self.kept[path]
        content = self._get(path)
        if tile.level is not None:
            # Hash tiles never change (a partial one is a different path), and the few a
            # frontier or a proof needs are read more than once: keep some, never bundles.
            if len(self.kept) >= 64:
                self.kept.pop(next(iter(self.kept)))
            self.kept[path] = content
        return content

    def _get(self, path: str) -> bytes:
        try:
            response = self.client.get(f"{self.prefix}/{path}")
        except httpx.HTTPError as failed:
            raise RemoteLogError(f"{self.prefix}/{path}: {type(failed).__name__}") from None
        if response.status_code != 200:
            raise RemoteLogError(f"{self.prefix}/{path}: HTTP {response.status_code}")
        return response.content

    def lookup(self, size: int) -> NodeLookup:
        """Stored-subtree hashes of the tree of ``size`` leaves, computed from its tiles."""

        def find(wanted: list[NodeId]) -> dict[NodeId, bytes]:
            # The tiles these nodes lie in, fetched at once; then each node from them.
            needed = {
                (level // HEIGHT, (index << level % HEIGHT) // WIDTH) for level, index in wanted
            }
            with ThreadPoolExecutor(FETCHERS) as pool:
                list(pool.map(lambda tile: self._tile_hashes(tile[0], tile[1], size), needed))
            return {node: self._node(node, size) for node in wanted}

        return find

    def _node(self, node: NodeId, size: int) -> bytes:
        """A perfect subtree's hash: at a tile level it is in the tile, between tile levels it
        is the subtree's hashes at the tile level below, hashed together."""
        level, index = node
        tile_level, above = divmod(level, HEIGHT)
        first, count = index << above, 1 << above
        hashes = self._tile_hashes(tile_level, first // WIDTH, size)
        start = first % WIDTH
        row = hashes[start : start + count]
        if len(row) != count:
            raise RemoteLogError(f"{self.prefix}: a tile is shorter than the checkpoint says")
        while len(row) > 1:
            row = [node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
        return row[0]

    def _tile_hashes(self, level: int | None, index: int, size: int) -> list[bytes]:
        width = min(WIDTH, (size >> (HEIGHT * (level or 0))) - index * WIDTH)
        content = self.tile(Tile(level, index, width))
        if level is None:
            return list(decode_bundle(content))
        return split_hashes(content)

    def leaves(self, start: int, end: int, size: int) -> Iterator[LeafRow]:
        """The entries at positions ``start`` to ``end`` (exclusive) of the tree of ``size``,
        with the leaf hashes its level-0 tiles hold, as the walk reads them.

        Bundles and their tiles are fetched a window at a time, in parallel (as tlog-tiles
        means them to be): the wait is for the slowest of a few requests, not their sum, and
        no more than a window is held."""
        bundles = range(start // WIDTH, -(-end // WIDTH))
        with ThreadPoolExecutor(FETCHERS) as pool:
            for window in range(0, len(bundles), WINDOW):
                chunk = bundles[window : window + WINDOW]
                entries = pool.map(lambda n: self._tile_hashes(None, n, size), chunk)
                hashes = pool.map(lambda n: self._tile_hashes(0, n, size), chunk)
                for bundle, their_entries, their_hashes in zip(chunk, entries, hashes, strict=True):
                    yield from self._rows(bundle, their_entries, their_hashes, start, end)

    def _rows(
        self, bundle: int, entries: list[bytes], hashes: list[bytes], start: int, end: int
    ) -> Iterator[LeafRow]:
        if len(entries) != len(hashes):
            raise RemoteLogError(f"{self.prefix}: bundle {bundle} and its tile differ in size")
        base = bundle * WIDTH
        for offset in range(max(start, base) - base, min(end, base + len(hashes)) - base):
            yield _row(base + offset, entries[offset], hashes[offset])

    def licences(self, start: int, end: int, size: int) -> list[LeafRow]:
        """The records of pruning among those entries (a second pass, needed only when the
        first met an emptied entry)."""
        return [
            row
            for row in self.leaves(start, end, size)
            if row.body is not None and _RECORD_OF_PRUNING.decode() in row.body
        ]


def _row(position: int, entry: bytes, digest: bytes) -> LeafRow:
    body: str | None
    if len(entry) == PRUNED_SIZE:
        # A pruned entry: the bundle holds its leaf hash. If it is not the tree's leaf hash,
        # the bundle lies: an empty body makes the walk name the position as changed.
        body = None if entry == digest else ""
    else:
        body = entry.decode("utf-8", "surrogateescape")
    return LeafRow(
        seq=position, entry_id=-1, leaf_hash=digest, entry_exists=True, body=body, columns=None
    )
