"""HTTP route of emergency queries (§ 8a SGB VIII)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gateway.auth.dependencies import INSUFFICIENT_SCOPE, INVALID_TOKEN, Admission, admit
from gateway.auth.scopes import Scope
from gateway.consents.routes import Caseworker
from gateway.emergency.models import EmergencyQueryIn, EmergencyQueryOut
from gateway.errors import PAYLOAD_TOO_LARGE, problem_responses
from gateway.exchange import errors, service
from gateway.exchange.routes import gateway_for
from gateway.observability.tracing import RequestTrace
from gateway.release.errors import EXCHANGE_DENIED
from gateway.runtime import RuntimeDep

router = APIRouter(prefix="/v1/exchanges", tags=["exchange"])
EmergencyQuerier = Annotated[Admission, Depends(admit(Scope.EXCHANGE_EMERGENCY))]


@router.post(
    "/emergency",
    summary="Ask for data in a child-protection emergency, without consent (§ 8a SGB VIII)",
    description="Decided on the policy's emergency flows only, never on consent: the caller "
    "needs scope `exchange:emergency` and a justification whose reason code the flow lists. "
    "The first emergency query about a person opens a window for the asking office (the "
    "gateway's setting, at most the flow's `max_window_hours`); each query is limited per "
    "office and day, recorded, shown to a data-protection officer at once and reviewed by "
    "one. The person sees it in the portal (a DPO may defer that for a bounded time). "
    "Refusals (`no_policy`, `emergency_reason_not_listed`, `emergency_window_closed`, "
    "`emergency_limit_reached`, and the ordinary ones) are audited.",
    response_model=EmergencyQueryOut,
    responses=problem_responses(
        INVALID_TOKEN,
        INSUFFICIENT_SCOPE,
        EXCHANGE_DENIED,
        errors.PROVIDER_FAILED,
        errors.PROVIDER_TIMEOUT,
        PAYLOAD_TOO_LARGE,
    ),
)
async def emergency_query(
    request: Request,
    body: EmergencyQueryIn,
    admission: EmergencyQuerier,
    runtime: RuntimeDep,
    trace: RequestTrace,
    caseworker: Caseworker = None,
) -> EmergencyQueryOut:
    asked = service.Asked(
        admission=admission,
        query=body,
        caseworker=caseworker,
        request_id=getattr(request.state, "request_id", None),
        trace=trace,
        justification=body.justification,
    )
    answer = await service.query(gateway_for(runtime), asked)
    assert isinstance(answer, EmergencyQueryOut)  # an emergency release has its window
    return answer
