"""Liveness, readiness, Prometheus metrics and problem-type documentation."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from gateway.errors import (
    NOT_FOUND,
    NOT_READY,
    PROBLEM_TYPES,
    NotFound,
    NotReady,
    problem_responses,
)
from gateway.meta import readiness
from gateway.observability.metrics import CONTENT_TYPE_LATEST
from gateway.runtime import RuntimeDep
from gateway.web.pages import PageLanguage, render

router = APIRouter(tags=["operations"])


@router.get("/", include_in_schema=False, response_class=HTMLResponse)
def start(request: Request, language: PageLanguage) -> HTMLResponse:
    """Where someone who typed the gateway's address lands: the portal, the DPO pages, the
    API description and the service's state, in their language."""
    return render(request, "web/start.html", language)


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    keys: str


class ProblemTypeDoc(BaseModel):
    type: str
    title: str
    status: int
    description: str


@router.get("/healthz", summary="Liveness: the process answers", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: database takes writes and signing keys loaded",
    response_model=Readiness,
    responses=problem_responses(NOT_READY, validation=False, database=False),
)
async def readyz(runtime: RuntimeDep) -> Readiness:
    database_ok = await readiness.database_ready(runtime.database)
    # Both the signing keys and the message key-encryption keys.
    keys_ok = runtime.keys.is_loaded() and runtime.sealing.is_loaded()
    if not (database_ok and keys_ok):
        missing = [name for name, ok in (("database", database_ok), ("keys", keys_ok)) if not ok]
        raise NotReady(f"not available: {', '.join(missing)}")
    return Readiness(status="ready", database="ok", keys="ok")


@router.get(
    "/metrics",
    summary="Prometheus metrics (no personal data)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
def metrics(runtime: RuntimeDep) -> Response:
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/problems/{slug}",
    summary="What a problem type means",
    response_model=ProblemTypeDoc,
    responses=problem_responses(NOT_FOUND, database=False),
)
def problem(slug: str) -> ProblemTypeDoc:
    kind = PROBLEM_TYPES.get(slug)
    if kind is None:
        raise NotFound("no such problem type")
    return ProblemTypeDoc(
        type=kind.uri, title=kind.title, status=kind.status, description=kind.description
    )
