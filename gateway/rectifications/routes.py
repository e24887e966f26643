"""HTTP routes of rectification notices, for the agency the flagged information came from.

Scope `consent:read`, as withdrawal notices: both are notices about a person's rights that an
agency system reads and answers, and every agency holds it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from gateway.auth.dependencies import INSUFFICIENT_SCOPE, INVALID_TOKEN, Principal, require_scope
from gateway.auth.scopes import Scope
from gateway.db.session import DbSession
from gateway.errors import problem_responses
from gateway.rectifications import service
from gateway.rectifications.errors import RECTIFICATION_ANSWERED, RECTIFICATION_NOT_FOUND
from gateway.rectifications.models import RectificationAck, RectificationList, RectificationOut
from gateway.runtime import RuntimeDep

router = APIRouter(prefix="/v1/rectifications", tags=["consents"])
Reader = Annotated[Principal, Depends(require_scope(Scope.CONSENT_READ))]
_AUTH = (INVALID_TOKEN, INSUFFICIENT_SCOPE)


@router.get(
    "",
    summary="Rectification notices to the calling agency: information it provided that the "
    "person says is wrong (open ones by default)",
    response_model=RectificationList,
    responses=problem_responses(*_AUTH),
)
def list_rectifications(
    principal: Reader,
    session: DbSession,
    runtime: RuntimeDep,
    state: Annotated[str, Query(pattern=r"^(open|all)$")] = "open",
) -> RectificationList:
    return service.listing(session, runtime.sealing, principal, include_answered=state == "all")


@router.post(
    "/{rectification_id}/ack",
    summary="Say whether the information was corrected, or why not (the person is shown it)",
    response_model=RectificationOut,
    responses=problem_responses(*_AUTH, RECTIFICATION_NOT_FOUND, RECTIFICATION_ANSWERED),
)
def acknowledge_rectification(
    body: RectificationAck,
    principal: Reader,
    runtime: RuntimeDep,
    session: DbSession,
    rectification_id: Annotated[str, Path(max_length=36)],
) -> RectificationOut:
    return service.answer(
        session,
        runtime.audit,
        principal,
        rectification_id,
        body,
        datetime.now(UTC),
    )
