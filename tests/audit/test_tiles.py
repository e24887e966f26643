"""The log served as C2SP tlog-tiles: every tile is what an independent RFC 6962 computation
over the same entries says, full and partial, across tile boundaries and levels; entry bundles
hash to the level-0 tiles; only what a signed checkpoint covers is served, to whom may read it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from gateway.agencies.tables import ClientRole
from gateway.app import create_app
from gateway.audit.merkle import Frontier, leaf_hash
from gateway.audit.tables import AuditCheckpoint, AuditLeaf, AuditNode
from gateway.audit.tiles import Tile, decode_bundle, index_path, parse_tile, split_hashes
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.audit.dpo_api.seeded import bearer, token_for
from tests.audit.logs import record_decisions
from tests.audit.rfc6962 import mth, sha256
from tests.audit.tampering import EMPTY, query, tamper
from tests.conftest import TEST_ISSUER
from tests.support import Clients

PREFIX = "/v1/audit/log"


@pytest.mark.parametrize(
    ("index", "path"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_tile_indexes_are_written_in_three_digit_groups(index: int, path: str):
    assert index_path(index) == path
    assert parse_tile("0", path) == Tile(0, index)


@pytest.mark.parametrize(
    ("level", "rest"),
    [
        ("0", "1"),  # not three digits
        ("0", "x001"),  # the last group has no x
        ("0", "x000/001"),  # a leading zero group: a second spelling of 001
        ("0", "001.p/0"),
        ("0", "001.p/256"),  # a full tile has no .p
        ("0", "001.p/07"),
        ("00", "001"),
        ("64", "001"),
        ("-1", "001"),
        ("level", "001"),
        ("0", "001/"),
        ("0", "../001"),
    ],
)
def test_other_spellings_name_no_tile(level: str, rest: str):
    assert parse_tile(level, rest) is None


def test_which_tiles_a_tree_has_follows_the_specifications_example():
    """tlog-tiles: a tree of 70,000 has 273 full level-0 tiles, a partial one of 112, one full
    level-1 tile, a partial one of 17, and a partial level-2 tile of 1."""
    size = 70_000
    assert Tile(0, 272).exists_at(size)
    assert not Tile(0, 273).exists_at(size)
    assert Tile(0, 273, 112).exists_at(size)
    assert not Tile(0, 273, 113).exists_at(size)
    assert Tile(0, 273, 5).exists_at(size)  # an older checkpoint's partial tile
    assert Tile(1, 0).exists_at(size)
    assert Tile(1, 1, 17).exists_at(size)
    assert not Tile(1, 1).exists_at(size)
    assert not Tile(1, 1, 18).exists_at(size)
    assert Tile(2, 0, 1).exists_at(size)
    assert not Tile(2, 0, 2).exists_at(size)
    assert not Tile(0, 272, 12).exists_at(size)  # a full tile's partial form is gone
    assert Tile(1, 0, 1).exists_at(256)
    assert not Tile(1, 0, 1).exists_at(255)


# -- a large tree, built directly in the tables ----------------------------------------------

LEAVES = 65_536 + 300  # one level-2 hash, full and partial tiles at levels 0 and 1


def leaf_data(position: int) -> bytes:
    return f"leaf {position}".encode()


@pytest.fixture
def big_tree(runtime: Runtime) -> Runtime:
    """LEAVES leaves in the tree's own tables with every perfect subtree, and a checkpoint."""
    frontier, leaves, nodes = Frontier(), [], []
    for position in range(LEAVES):
        digest = leaf_hash(leaf_data(position))
        leaves.append({"seq": position, "entry_id": position + 1, "leaf_hash": digest})
        nodes.extend(
            {"level": level, "idx": index, "hash": node}
            for level, index, node in frontier.append(digest)
        )
    with runtime.database.transaction() as session:
        session.execute(insert(AuditLeaf), leaves)
        session.execute(insert(AuditNode), nodes)
        session.execute(
            insert(AuditCheckpoint),
            [
                {
                    "size": LEAVES,
                    "root": frontier.root(),
                    "note": "-",
                    "created_at": datetime.now(UTC),
                }
            ],
        )
    return runtime


def expected_tile(level: int, index: int, width: int) -> bytes:
    """tlog-tiles' definition: hash i is MTH(D[(n·256 + i)·256^l : (n·256 + i + 1)·256^l])."""
    span = 256**level
    return b"".join(
        mth([leaf_data(p) for p in range((index * 256 + i) * span, (index * 256 + i + 1) * span)])
        for i in range(width)
    )


@pytest.fixture
def reader(runtime: Runtime, clients: Clients, http: TestClient) -> dict[str, str]:
    return bearer(token_for(http, clients.other("city-dpo", ClientRole.DPO)))


TILES = [
    (0, 0, 256),
    (0, 255, 256),
    (0, 256, 256),
    (0, 257, 44),  # the rightmost, partial
    (0, 257, 1),  # an older checkpoint's partial tile
    (1, 0, 256),
    (1, 1, 1),  # the root of the one full level-0 tile beyond the first full level-1 tile
    (2, 0, 1),  # the root of the first 65,536 leaves
]
MISSING = [
    "tile/0/257",  # the rightmost tile is not full yet
    "tile/0/257.p/45",  # wider than the tree
    "tile/0/258.p/1",
    "tile/1/001",
    "tile/2/000",
    "tile/3/000.p/1",
    "tile/0/x000/001",
    "tile/0/abc",
    "tile/entries",
]


def test_tiles_match_an_independent_rfc_6962_computation(
    big_tree: Runtime, http: TestClient, reader: dict[str, str]
):
    """One tree for all cases: building it is most of the time."""
    for level, index, width in TILES:
        tile = Tile(level, index, width)
        response = http.get(f"{PREFIX}/{tile.path()}", headers=reader)
        assert response.status_code == 200, (tile, response.text)
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.content == expected_tile(level, index, width), tile
        assert len(split_hashes(response.content)) == width
    full = http.get(f"{PREFIX}/tile/0/000", headers=reader)
    assert full.headers["cache-control"] == "private, max-age=31536000, immutable"
    for path in MISSING:
        response = http.get(f"{PREFIX}/{path}", headers=reader)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


# -- a real log: entry bundles ---------------------------------------------------------------


def test_entry_bundles_hash_to_the_level_zero_tiles(runtime: Runtime, http, reader):
    record_decisions(runtime, 300)  # registering the DPO client wrote entries too
    size = int(http.get(f"{PREFIX}/checkpoint", headers=reader).text.split("\n")[1])
    full, partial = divmod(size, 256)
    assert full == 1
    assert partial > 0
    for tile in (Tile(None, 0), Tile(None, 1, partial)):
        bundle = http.get(f"{PREFIX}/{tile.path()}", headers=reader)
        assert bundle.status_code == 200
        hashes = http.get(f"{PREFIX}/{Tile(0, tile.index, tile.width).path()}", headers=reader)
        entries = list(decode_bundle(bundle.content))
        assert len(entries) == tile.width
        assert [sha256(b"\x00" + entry) for entry in entries] == split_hashes(hashes.content)
        assert all(entry.startswith(b'{"') for entry in entries)


def test_a_pruned_entry_is_its_leaf_hash_in_the_bundle(runtime: Runtime, http, reader):
    record_decisions(runtime, 3)
    ((entry_id,),) = query(
        runtime.settings.database_url, "SELECT entry_id FROM audit_leaves WHERE seq = 1"
    )
    tamper(runtime.settings.database_url, EMPTY, id=entry_id)  # what retention leaves of it
    size = int(http.get(f"{PREFIX}/checkpoint", headers=reader).text.split("\n")[1])
    bundle = http.get(f"{PREFIX}/tile/entries/000.p/{size}", headers=reader).content
    entries = list(decode_bundle(bundle))
    hashes = split_hashes(http.get(f"{PREFIX}/tile/0/000.p/{size}", headers=reader).content)
    pruned = [position for position, entry in enumerate(entries) if len(entry) == 32]
    assert len(pruned) == 1
    assert entries[pruned[0]] == hashes[pruned[0]]
    assert (
        http.get(f"{PREFIX}/tile/entries/000.p/{size}", headers=reader).headers["cache-control"]
        == "private, max-age=300"
    )


def test_nothing_beyond_the_signed_checkpoint_is_served(runtime: Runtime, http, reader):
    record_decisions(runtime, 3)
    size = int(http.get(f"{PREFIX}/checkpoint", headers=reader).text.split("\n")[1])
    record_decisions(runtime, 1)
    assert http.get(f"{PREFIX}/tile/entries/000.p/{size + 1}", headers=reader).status_code == 200
    # The newest entry stays in the tree, but its checkpoint is gone: the tiles stop before it.
    tamper(runtime.settings.database_url, "DELETE FROM audit_checkpoints WHERE size > :s", s=size)
    assert http.get(f"{PREFIX}/tile/entries/000.p/{size + 1}", headers=reader).status_code == 404
    assert http.get(f"{PREFIX}/tile/0/000.p/{size + 1}", headers=reader).status_code == 404
    assert http.get(f"{PREFIX}/tile/0/000.p/{size}", headers=reader).status_code == 200


# -- who may read ----------------------------------------------------------------------------


@pytest.fixture
def public_http(settings: Settings, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    mode = request.param
    runtime = Runtime.start(settings.model_copy(update={"audit_log_public": mode}))
    try:
        record_decisions(runtime, 3)
        with TestClient(create_app(runtime=runtime), base_url=TEST_ISSUER) as client:
            yield client
    finally:
        runtime.close()


def test_the_log_needs_audit_read_by_default(runtime: Runtime, http, clients: Clients):
    record_decisions(runtime, 3)
    for path in ("checkpoint", "tile/0/000.p/3", "tile/entries/000.p/3"):
        assert http.get(f"{PREFIX}/{path}").status_code == 401
    agency = bearer(token_for(http, clients.agency()))
    assert http.get(f"{PREFIX}/tile/0/000.p/3", headers=agency).status_code == 403


@pytest.mark.parametrize("public_http", ["tree"], indirect=True)
def test_a_public_tree_serves_hashes_to_anyone_but_not_entries(public_http: TestClient):
    checkpoint = public_http.get(f"{PREFIX}/checkpoint")
    assert checkpoint.status_code == 200
    assert checkpoint.headers["content-type"] == "text/plain; charset=utf-8"
    assert checkpoint.headers["cache-control"] == "public, max-age=2"
    size = int(checkpoint.text.split("\n")[1])
    tile = public_http.get(f"{PREFIX}/tile/0/000.p/{size}")
    assert tile.status_code == 200
    assert tile.headers["cache-control"].startswith("public,")
    assert public_http.get(f"{PREFIX}/tile/entries/000.p/{size}").status_code == 401


@pytest.mark.parametrize("public_http", ["entries"], indirect=True)
def test_a_public_log_serves_its_entries_too(public_http: TestClient):
    size = int(public_http.get(f"{PREFIX}/checkpoint").text.split("\n")[1])
    bundle = public_http.get(f"{PREFIX}/tile/entries/000.p/{size}")
    assert bundle.status_code == 200
    assert bundle.headers["cache-control"] == "public, max-age=300"
    assert len(list(decode_bundle(bundle.content))) == size
