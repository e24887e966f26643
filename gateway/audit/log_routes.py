"""The audit log as C2SP tlog-tiles, under ``/v1/audit/log/``: the signed checkpoint, the Merkle
tree's tiles and the entry bundles, for witnesses and independent verifiers.

They need ``audit:read``, unless the operator made part of the log public
(``GATEWAY_AUDIT_LOG_PUBLIC``): ``tree`` serves the checkpoint and the hash tiles to anyone,
``entries`` the entry bundles too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import PlainTextResponse, Response

from gateway.audit import tiles
from gateway.audit.reports import NO_CHECKPOINT, latest_checkpoint
from gateway.auth.dependencies import (
    ACCESS_TOKEN,
    INSUFFICIENT_SCOPE,
    INVALID_TOKEN,
    Principal,
    require_scope,
)
from gateway.auth.scopes import Scope
from gateway.db.session import DbSession
from gateway.errors import NOT_FOUND, NotFound, problem_responses
from gateway.runtime import RuntimeDep

router = APIRouter(prefix="/v1/audit/log", tags=["audit"])

_audit_reader = require_scope(Scope.AUDIT_READ)
_CHECKPOINT_CACHE = "max-age=2"  # mutable: a new one every few seconds
_TILE_CACHE = "max-age=31536000, immutable"  # a tile's hashes never change
# An entry bundle changes once, when retention prunes its entries: cached for minutes only,
# so that no cache keeps an entry's content long after the log let it go.
_BUNDLE_CACHE = "max-age=300"
_PUBLIC_PARTS = {"none": (), "tree": ("tree",), "entries": ("tree", "entries")}


def _reader(part: str) -> Callable[..., Principal | None]:
    def read(
        request: Request,
        runtime: RuntimeDep,
        authorization: str | None = Security(ACCESS_TOKEN, scopes=[Scope.AUDIT_READ.value]),
    ) -> Principal | None:
        if part in _PUBLIC_PARTS[runtime.settings.audit_log_public]:
            return None  # the operator made this part public: no token needed
        return _audit_reader(request, runtime, authorization)

    return read


TreeReader = Annotated[Principal | None, Depends(_reader("tree"))]
EntriesReader = Annotated[Principal | None, Depends(_reader("entries"))]
_OCTETS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {"schema": {"type": "string"}}}}
}
_PUBLIC_NOTE = (
    " Needs `audit:read`, unless the operator serves this part of the log publicly "
    "(`GATEWAY_AUDIT_LOG_PUBLIC`)."
)


def _cache(reader: Principal | None, lifetime: str) -> dict[str, str]:
    # Served with a token: a shared cache must not hand it to others.
    return {"Cache-Control": f"{'public' if reader is None else 'private'}, {lifetime}"}


@router.get(
    "/checkpoint",
    summary="The newest cosigned checkpoint (tlog-tiles)",
    description="A C2SP signed note: origin, tree size, root hash, the log's signature and "
    "the cosignatures of the witnesses that checked it: the newest checkpoint the witness "
    "policy (`GATEWAY_WITNESSES`, `GATEWAY_WITNESS_QUORUM`) is satisfied with, or before "
    "any is, the newest with what it has." + _PUBLIC_NOTE,
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **problem_responses(INVALID_TOKEN, INSUFFICIENT_SCOPE, NO_CHECKPOINT, validation=False),
    },
)
def log_checkpoint(
    reader: TreeReader, session: DbSession, runtime: RuntimeDep
) -> PlainTextResponse:
    return PlainTextResponse(
        latest_checkpoint(session, runtime.settings.witness_policy),
        media_type="text/plain; charset=utf-8",
        headers=_cache(reader, _CHECKPOINT_CACHE),
    )


@router.get(
    "/tile/entries/{path:path}",
    summary="An entry bundle (tlog-tiles)",
    description="The entries of a level-0 tile, each a big-endian uint16 length and the "
    "entry's canonical JSON; a pruned entry is its 32-byte leaf hash." + _PUBLIC_NOTE,
    response_class=Response,
    responses={**_OCTETS, **problem_responses(INVALID_TOKEN, INSUFFICIENT_SCOPE, NOT_FOUND)},
)
def log_entry_bundle(reader: EntriesReader, session: DbSession, path: str) -> Response:
    bundle = _existing(session, "entries", path)
    return Response(
        tiles.read_bundle(session, bundle),
        media_type="application/octet-stream",
        headers=_cache(reader, _BUNDLE_CACHE),
    )


@router.get(
    "/tile/{level}/{path:path}",
    summary="A Merkle tree tile (tlog-tiles)",
    description="Up to 256 consecutive 32-byte hashes of the tree's level 8·L; `.p/W` for a "
    "partial tile of W hashes." + _PUBLIC_NOTE,
    response_class=Response,
    responses={**_OCTETS, **problem_responses(INVALID_TOKEN, INSUFFICIENT_SCOPE, NOT_FOUND)},
)
def log_tile(reader: TreeReader, session: DbSession, level: str, path: str) -> Response:
    if level == "entries":  # its own route above; this spelling must not bypass its guard
        raise NotFound("no such tile")
    tile = _existing(session, level, path)
    return Response(
        tiles.read_tile(session, tile),
        media_type="application/octet-stream",
        headers=_cache(reader, _TILE_CACHE),
    )


def _existing(session: DbSession, level: str, path: str) -> tiles.Tile:
    """The tile a path names, if a signed checkpoint covers it; NotFound otherwise."""
    tile = tiles.parse_tile(level, path)
    if tile is None:
        raise NotFound("no such tile: see C2SP tlog-tiles for the paths")
    if not tile.exists_at(tiles.signed_size(session)):
        raise NotFound("the log's latest checkpoint does not cover this tile")
    return tile
