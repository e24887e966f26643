"""HTTP routes of exchanges."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gateway.auth.dependencies import INSUFFICIENT_SCOPE, INVALID_TOKEN, Admission, admit
from gateway.auth.scopes import Scope
from gateway.consents.routes import Caseworker
from gateway.emergency.models import JustificationIn
from gateway.errors import PAYLOAD_TOO_LARGE, problem_responses
from gateway.exchange import errors, service
from gateway.exchange.models import QueryIn, QueryOut
from gateway.observability.tracing import RequestTrace
from gateway.release.errors import EXCHANGE_DENIED
from gateway.runtime import Runtime, RuntimeDep

router = APIRouter(prefix="/v1/exchanges", tags=["exchange"])
Querier = Annotated[Admission, Depends(admit(Scope.EXCHANGE_QUERY))]


# What a query may answer besides its data (an emergency query too).
QUERY_PROBLEMS = problem_responses(
    INVALID_TOKEN,
    INSUFFICIENT_SCOPE,
    EXCHANGE_DENIED,
    errors.PROVIDER_FAILED,
    errors.PROVIDER_TIMEOUT,
    PAYLOAD_TOO_LARGE,
)


@router.post(
    "",
    summary="Ask another agency for data about a shared client",
    response_model=QueryOut,
    responses=QUERY_PROBLEMS,
)
async def query(
    request: Request,
    body: QueryIn,
    admission: Querier,
    runtime: RuntimeDep,
    trace: RequestTrace,
    caseworker: Caseworker = None,
) -> QueryOut:
    return await service.query(
        gateway_for(runtime), asked(request, admission, body, trace, caseworker)
    )


def asked(
    request: Request,
    admission: Admission,
    body: QueryIn,
    trace: RequestTrace,
    caseworker: str | None,
    justification: JustificationIn | None = None,
) -> service.Asked:
    """The query as the service takes it, from a route's request."""
    return service.Asked(
        admission=admission,
        query=body,
        caseworker=caseworker,
        request_id=getattr(request.state, "request_id", None),
        trace=trace,
        justification=justification,
    )


def gateway_for(runtime: Runtime) -> service.Gateway:
    """The parts of the running gateway a query uses."""
    return service.Gateway(
        settings=runtime.settings,
        database=runtime.database,
        audit=runtime.audit,
        policies=runtime.policies,
        schemas=runtime.schemas,
        providers=runtime.providers,
        provider_tokens=runtime.provider_tokens,
        commits=runtime.commits,
        sealing=runtime.sealing,
    )
