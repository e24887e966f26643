"""HTTP route of integration monitoring (scope monitoring:read)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from gateway.auth.dependencies import INSUFFICIENT_SCOPE, INVALID_TOKEN, Principal, require_scope
from gateway.auth.scopes import Scope
from gateway.db.session import WritingSession
from gateway.errors import problem_responses
from gateway.monitoring import service
from gateway.monitoring.errors import NOT_ACCEPTABLE
from gateway.monitoring.models import IndicatorsOut
from gateway.monitoring.periods import PATTERN
from gateway.runtime import RuntimeDep

router = APIRouter(prefix="/v1", tags=["monitoring"])
Office = Annotated[Principal, Depends(require_scope(Scope.MONITORING_READ))]


@router.get(
    "/indicators",
    summary="Integration-monitoring indicators per month and municipality, disclosure-controlled",
    response_model=IndicatorsOut,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **problem_responses(INVALID_TOKEN, INSUFFICIENT_SCOPE, NOT_ACCEPTABLE),
    },
)
def indicators(
    request: Request,
    office: Office,
    runtime: RuntimeDep,
    session: WritingSession,
    first: Annotated[
        str, Query(alias="from", pattern=PATTERN, description="First month, YYYY-MM (UTC).")
    ],
    last: Annotated[
        str,
        Query(alias="to", pattern=PATTERN, description="Last month, at most 36 after `from`."),
    ],
    municipality: Annotated[
        str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    ] = None,
    format: Annotated[
        Literal["json", "csv"] | None, Query(description="Else the Accept header decides.")
    ] = None,
) -> Response:
    rendered = service.answer(
        session,
        runtime.database,
        runtime.audit,
        service.Ask(
            actor=office.client_id,
            first=first,
            last=last,
            municipality=municipality,
            format=format,
            accept=request.headers.get("accept"),
            request_id=getattr(request.state, "request_id", None),
        ),
    )
    return Response(rendered.body, media_type=rendered.media_type)
