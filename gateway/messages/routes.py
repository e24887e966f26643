"""HTTP routes of messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from gateway.auth.dependencies import (
    INSUFFICIENT_SCOPE,
    INVALID_TOKEN,
    Admission,
    Principal,
    admit,
    require_scope,
)
from gateway.auth.scopes import Scope
from gateway.consents.routes import Caseworker
from gateway.db.session import DbSession
from gateway.errors import PAYLOAD_TOO_LARGE, problem_responses
from gateway.messages import service
from gateway.messages.errors import MESSAGE_GONE, MESSAGE_NOT_FOUND, MESSAGE_UNREADABLE
from gateway.messages.models import (
    InboxState,
    MessageAccepted,
    MessageAcknowledged,
    MessageIn,
    MessageOut,
    MessagePage,
)
from gateway.observability.tracing import RequestTrace, Trace
from gateway.release.errors import EXCHANGE_DENIED
from gateway.runtime import Runtime, RuntimeDep

router = APIRouter(prefix="/v1/messages", tags=["messages"])
# Sending, fetching and acknowledging run in the event loop, like a query (see the service).
Sender = Annotated[Admission, Depends(admit(Scope.EXCHANGE_SEND))]
Receiver = Annotated[Admission, Depends(admit(Scope.EXCHANGE_RECEIVE))]
Reader = Annotated[Principal, Depends(require_scope(Scope.EXCHANGE_RECEIVE))]
MessageId = Annotated[str, Path(max_length=36)]
_AUTH = (INVALID_TOKEN, INSUFFICIENT_SCOPE)


def _post(runtime: Runtime) -> service.Post:
    return service.Post(
        settings=runtime.settings,
        database=runtime.database,
        audit=runtime.audit,
        policies=runtime.policies,
        schemas=runtime.schemas,
        sealing=runtime.sealing,
        commits=runtime.commits,
    )


def _asked(
    request: Request, admission: Admission, trace: Trace, caseworker: str | None
) -> service.Asked:
    request_id = getattr(request.state, "request_id", None)
    return service.Asked(admission, caseworker, request_id, trace.trace_id)


@router.post(
    "",
    status_code=202,
    summary="Send a message about a shared client to another agency",
    response_model=MessageAccepted,
    responses=problem_responses(*_AUTH, EXCHANGE_DENIED, PAYLOAD_TOO_LARGE),
)
async def send_message(
    request: Request,
    body: MessageIn,
    admission: Sender,
    runtime: RuntimeDep,
    trace: RequestTrace,
    caseworker: Caseworker = None,
) -> MessageAccepted:
    asked = _asked(request, admission, trace, caseworker)
    return MessageAccepted(message_id=await service.send(_post(runtime), asked, body))


@router.get(
    "",
    summary="The calling agency's inbox, oldest first",
    response_model=MessagePage,
    responses=problem_responses(*_AUTH),
)
def list_messages(
    principal: Reader,
    session: DbSession,
    state: InboxState = InboxState.PENDING,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MessagePage:
    return service.inbox(session, principal, state, cursor, limit)


@router.get(
    "/{message_id}",
    summary="Fetch a message (again, until it is acknowledged)",
    response_model=MessageOut,
    responses=problem_responses(
        *_AUTH, EXCHANGE_DENIED, MESSAGE_NOT_FOUND, MESSAGE_GONE, MESSAGE_UNREADABLE
    ),
)
async def fetch_message(
    request: Request,
    admission: Receiver,
    runtime: RuntimeDep,
    message_id: MessageId,
    trace: RequestTrace,
    caseworker: Caseworker = None,
) -> MessageOut:
    asked = _asked(request, admission, trace, caseworker)
    return await service.fetch(_post(runtime), asked, message_id)


@router.post(
    "/{message_id}/ack",
    summary="Acknowledge a message: the gateway deletes its payload",
    response_model=MessageAcknowledged,
    responses=problem_responses(*_AUTH, MESSAGE_NOT_FOUND, MESSAGE_GONE),
)
async def acknowledge_message(
    request: Request,
    admission: Receiver,
    runtime: RuntimeDep,
    message_id: MessageId,
    trace: RequestTrace,
    caseworker: Caseworker = None,
) -> MessageAcknowledged:
    asked = _asked(request, admission, trace, caseworker)
    return await service.acknowledge(_post(runtime), asked, message_id)
