"""HTTP route of emergency queries (§ 8a SGB VIII)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gateway.auth.dependencies import Admission, admit
from gateway.auth.scopes import Scope
from gateway.consents.routes import Caseworker
from gateway.emergency.models import EmergencyQueryIn, EmergencyQueryOut
from gateway.exchange import service
from gateway.exchange.routes import QUERY_PROBLEMS, asked, gateway_for
from gateway.observability.tracing import RequestTrace
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
    responses=QUERY_PROBLEMS,
)
async def emergency_query(
    request: Request,
    body: EmergencyQueryIn,
    admission: EmergencyQuerier,
    runtime: RuntimeDep,
    trace: RequestTrace,
    caseworker: Caseworker = None,
) -> EmergencyQueryOut:
    answer = await service.query(
        gateway_for(runtime),
        asked(request, admission, body, trace, caseworker, body.justification),
    )
    assert isinstance(answer, EmergencyQueryOut)  # an emergency release has its window
    return answer
