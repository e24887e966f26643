"""Liveness, readiness, Prometheus metrics and problem-type documentation."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gateway.audit.cosigned import WitnessStatus, overall, witness_statuses
from gateway.emergency.review import Status as EmergencyStatus
from gateway.emergency.review import status as emergency_status
from gateway.errors import (
    NOT_FOUND,
    NOT_READY,
    PROBLEM_TYPES,
    DatabaseUnavailable,
    NotFound,
    NotReady,
    problem_responses,
)
from gateway.meta import readiness
from gateway.observability.metrics import (
    CONTENT_TYPE_LATEST,
    WitnessGauge,
    emergency_gauges,
    witness_gauges,
)
from gateway.runtime import Runtime, RuntimeDep
from gateway.web.pages import PageLanguage, render

router = APIRouter(tags=["operations"])


@router.get("/", include_in_schema=False, response_class=HTMLResponse)
def start(request: Request, language: PageLanguage) -> HTMLResponse:
    """Where someone who typed the gateway's address lands: the portal, the DPO pages, the
    API description and the service's state, in their language."""
    return render(request, "web/start.html", language)


class Health(BaseModel):
    status: str


class WitnessReadiness(BaseModel):
    status: str = Field(description="ok, lagging or refused")
    cosigned_size: int = Field(description="The tree size it last cosigned.")
    entries_behind: int
    problem: str | None = Field(
        default=None, description="Its last problem's code (timeout, inconsistent, ahead, ...)."
    )
    detail: str | None = None


class EmergencyReadiness(BaseModel):
    open: int
    overdue: int


class Readiness(BaseModel):
    status: str
    database: str
    keys: str
    witnesses: str = Field(
        default="none",
        description="none, ok, lagging or refused; witnessing failing does not make the gateway "
        "unready (exchanges go on), it is said here and in the metrics.",
    )
    witness_detail: dict[str, WitnessReadiness] = Field(default_factory=dict)
    emergency_reviews: EmergencyReadiness | None = Field(
        default=None,
        description="Emergency accesses (§ 8a SGB VIII) not reviewed yet, and those whose "
        "review is overdue; overdue reviews do not make the gateway unready.",
    )


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
    statuses = await run_in_threadpool(_witness_statuses, runtime)
    emergency = await run_in_threadpool(_emergency_status, runtime)
    return Readiness(
        status="ready",
        database="ok",
        keys="ok",
        witnesses=overall(statuses),
        witness_detail={
            status.name: WitnessReadiness(
                status=status.status,
                cosigned_size=status.size,
                entries_behind=status.behind,
                problem=status.problem,
                detail=status.detail,
            )
            for status in statuses
        },
        emergency_reviews=EmergencyReadiness(open=emergency.unreviewed, overdue=emergency.overdue)
        if emergency is not None
        else None,
    )


def _witness_statuses(runtime: Runtime) -> list[WitnessStatus]:
    names = [witness.name for witness in runtime.settings.witnesses]
    if not names:
        return []
    try:
        with runtime.database.transaction(read_only=True) as session:
            return witness_statuses(session, names)
    except DatabaseUnavailable:
        return []  # /readyz says the database is out; the metrics still render


def _emergency_status(runtime: Runtime) -> EmergencyStatus | None:
    try:
        with runtime.database.transaction(read_only=True) as session:
            return emergency_status(session, datetime.now(UTC))
    except DatabaseUnavailable:
        return None


@router.get(
    "/metrics",
    summary="Prometheus metrics (no personal data)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
def metrics(runtime: RuntimeDep) -> Response:
    now = datetime.now(UTC)
    gauges = [
        WitnessGauge(
            status.name,
            status.size,
            status.behind,
            (now - status.cosigned_at).total_seconds() if status.cosigned_at else None,
        )
        for status in _witness_statuses(runtime)
    ]
    body = runtime.metrics.render() + witness_gauges(gauges)
    emergency = _emergency_status(runtime)
    if emergency is not None:
        body += emergency_gauges(emergency.releases, emergency.unreviewed, emergency.overdue)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


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
