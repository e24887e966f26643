"""The witness's HTTP interface (C2SP tlog-witness): ``POST /add-checkpoint`` and
``GET /<sha256(origin) hex>/checkpoint``, plain text as the spec prescribes."""

from __future__ import annotations

import re

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway.witness.service import Witness

# A checkpoint with a few signatures and 63 proof lines is under 4 KiB; this leaves room for
# many cosignatures and refuses a body meant to fill memory.
MAX_BODY = 64 * 1024
_ORIGIN_HASH = re.compile(r"[0-9a-fA-F]{64}")


def create_witness_app(witness: Witness) -> Starlette:
    async def add_checkpoint(request: Request) -> Response:
        body = await _capped_body(request)
        if body is None:
            return PlainTextResponse("the body is too large\n", status_code=413)
        # SQLite and Ed25519 block: off the event loop.
        answer = await run_in_threadpool(witness.add_checkpoint, body)
        return Response(answer.body, answer.status, media_type=answer.content_type)

    async def checkpoint(request: Request) -> Response:
        hashed = request.path_params["origin_hash"]
        note = None
        if _ORIGIN_HASH.fullmatch(hashed):
            note = await run_in_threadpool(witness.checkpoint, hashed)
        if note is None:
            return PlainTextResponse("no checkpoint cosigned for this log\n", status_code=404)
        return PlainTextResponse(note)

    return Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/{origin_hash}/checkpoint", checkpoint, methods=["GET"]),
        ]
    )


async def _capped_body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)
