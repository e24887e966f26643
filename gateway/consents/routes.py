"""HTTP routes of the consent registry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from gateway.auth.dependencies import INSUFFICIENT_SCOPE, INVALID_TOKEN, Principal, require_scope
from gateway.auth.scopes import Scope
from gateway.consents import dpv, forms, notices, recording, service
from gateway.consents.errors import (
    CONSENT_GIVER_MISSING,
    CONSENT_NOT_ACTIVE,
    CONSENT_NOT_FOUND,
    NOTICE_ANSWERED,
    NOTICE_NOT_FOUND,
    REFERENCE_CONFLICT,
    UNKNOWN_REFERENCE,
)
from gateway.consents.models import (
    ConsentFormList,
    ConsentIn,
    ConsentList,
    ConsentOut,
    DpvConsentRecord,
    NoticeAck,
    NoticeList,
    NoticeOut,
    PortalCode,
    Receipt,
    Recorded,
    Reference,
    ReferenceIn,
    WithdrawIn,
)
from gateway.consents.notices_tables import WithdrawalNotice
from gateway.consents.versions import Context
from gateway.db.session import DbSession
from gateway.errors import PAYLOAD_TOO_LARGE, problem_responses
from gateway.observability.tracing import RequestTrace
from gateway.runtime import RuntimeDep

router = APIRouter(prefix="/v1/consents", tags=["consents"])
Writer = Annotated[Principal, Depends(require_scope(Scope.CONSENT_WRITE))]
Reader = Annotated[Principal, Depends(require_scope(Scope.CONSENT_READ))]
Caseworker = Annotated[
    str | None,
    Header(
        alias="X-Caseworker",
        pattern=r"^[A-Za-z0-9._:-]{1,64}$",
        description="Pseudonymous id of the caseworker acting (recorded in the audit).",
    ),
]
ConsentId = Annotated[str, Path(max_length=36)]
_AUTH = (INVALID_TOKEN, INSUFFICIENT_SCOPE)


def _writer_context(
    request: Request,
    runtime: RuntimeDep,
    principal: Writer,
    trace: RequestTrace,
    caseworker: Caseworker = None,
) -> Context:
    """Who changes a consent, and the gateway's parts a change needs."""
    return Context(
        principal=principal,
        audit=runtime.audit,
        keys=runtime.keys,
        policies=runtime.policies,
        max_validity_months=runtime.settings.consent_max_validity_months,
        time_zone=ZoneInfo(runtime.settings.time_zone),
        now=_now(),
        caseworker=caseworker,
        request_id=getattr(request.state, "request_id", None),
        trace_id=trace.trace_id,
        clock=_now,
    )


def _now() -> datetime:
    return datetime.now(UTC)


WriterContext = Annotated[Context, Depends(_writer_context)]


@router.post(
    "",
    status_code=201,
    summary="Record a consent the person gave",
    response_model=Recorded,
    responses=problem_responses(
        *_AUTH, REFERENCE_CONFLICT, CONSENT_GIVER_MISSING, PAYLOAD_TOO_LARGE
    ),
)
def record_consent(body: ConsentIn, context: WriterContext, session: DbSession) -> Recorded:
    return recording.record(session, context, body)


@router.get(
    "",
    summary="The consents about one person that the calling agency is party to",
    response_model=ConsentList,
    responses=problem_responses(*_AUTH, UNKNOWN_REFERENCE),
)
def list_consents(
    principal: Reader,
    session: DbSession,
    subject_ref: Annotated[Reference, Query(description="The caller's own file reference.")],
) -> ConsentList:
    return service.list_for_reference(session, principal, subject_ref, datetime.now(UTC))


@router.get(
    "/{consent_id}",
    summary="One consent (its current version and history)",
    response_model=ConsentOut,
    responses=problem_responses(*_AUTH, CONSENT_NOT_FOUND),
)
def read_consent(principal: Reader, session: DbSession, consent_id: ConsentId) -> ConsentOut:
    return service.read(session, principal, consent_id, datetime.now(UTC))


@router.get(
    "/{consent_id}/receipt",
    summary="The signed receipt of the consent's current version",
    response_model=Receipt,
    responses=problem_responses(*_AUTH, CONSENT_NOT_FOUND),
)
def consent_receipt(principal: Reader, session: DbSession, consent_id: ConsentId) -> Receipt:
    return service.receipt(session, principal, consent_id)


class JsonLdResponse(JSONResponse):
    media_type = dpv.MEDIA_TYPE


@router.get(
    "/{consent_id}/record",
    summary="The consent record as W3C DPV JSON-LD (the DPV profile of ISO/IEC TS 27560)",
    response_model=DpvConsentRecord,
    response_class=JsonLdResponse,
    responses=problem_responses(*_AUTH, CONSENT_NOT_FOUND),
)
def consent_record(
    principal: Reader, session: DbSession, runtime: RuntimeDep, consent_id: ConsentId
) -> JsonLdResponse:
    document = service.record_document(
        session, principal, consent_id, runtime.settings.issuer, datetime.now(UTC)
    )
    return JsonLdResponse(document.model_dump(mode="json", exclude_none=True))


@router.post(
    "/{consent_id}/withdraw",
    summary="Withdraw the consent, or some of its grants, with immediate effect",
    response_model=ConsentOut,
    responses=problem_responses(*_AUTH, CONSENT_NOT_FOUND, CONSENT_NOT_ACTIVE),
)
def withdraw_consent(
    body: WithdrawIn,
    context: WriterContext,
    session: DbSession,
    runtime: RuntimeDep,
    consent_id: ConsentId,
) -> ConsentOut:
    return service.withdraw(session, context, consent_id, body, runtime.withdrawal_effects)


@router.put(
    "/{consent_id}/subject-reference",
    summary="Add or correct the calling agency's own reference for the consent's person",
    response_model=ConsentOut,
    responses=problem_responses(*_AUTH, CONSENT_NOT_FOUND, REFERENCE_CONFLICT),
)
def set_own_reference(
    body: ReferenceIn, context: WriterContext, session: DbSession, consent_id: ConsentId
) -> ConsentOut:
    return service.set_own_reference(session, context, consent_id, body.reference)


@router.post(
    "/{consent_id}/portal-code",
    summary="Issue a new portal code for the person (the consent's recorder only; the "
    "person's earlier codes stop working)",
    response_model=PortalCode,
    responses=problem_responses(*_AUTH, CONSENT_NOT_FOUND, CONSENT_NOT_ACTIVE),
)
def reissue_portal_code(
    context: WriterContext, session: DbSession, consent_id: ConsentId
) -> PortalCode:
    return service.reissue_portal_code(session, context, consent_id)


forms_router = APIRouter(prefix="/v1/consent-forms", tags=["consents"])


@forms_router.get(
    "",
    summary="The shipped consent forms: what to show the person and name in `notice`",
    response_model=ConsentFormList,
    responses=problem_responses(INVALID_TOKEN, validation=False),
    dependencies=[Depends(require_scope(None))],
)
def list_consent_forms() -> ConsentFormList:
    """Any valid access token may read the forms: they are published texts, not personal data,
    and every kind of caller needs them (an agency that records consents, one that reads them
    and checks a notice's digest, a DPO reviewing what people were shown), so no scope would
    keep anything from anyone who should not have it."""
    return forms.list_forms()


notices_router = APIRouter(prefix="/v1/notices", tags=["consents"])


def _notice_out(notice: WithdrawalNotice) -> NoticeOut:
    return NoticeOut(
        notice_id=notice.id,
        consent_id=notice.consent_id,
        consent_version=notice.consent_version,
        created_at=notice.created_at,
        exchanges=notice.exchanges,
        messages=notice.messages,
        acknowledged_at=notice.acknowledged_at,
        outcome=notice.outcome,
        legal_reason=notice.legal_reason,
    )


@notices_router.get(
    "",
    summary="Withdrawal notices for the calling agency (open ones by default)",
    response_model=NoticeList,
    responses=problem_responses(*_AUTH),
)
def list_notices(
    principal: Reader,
    session: DbSession,
    state: Annotated[str, Query(pattern=r"^(open|all)$")] = "open",
) -> NoticeList:
    found = notices.open_notices(session, principal, include_answered=state == "all")
    return NoticeList(notices=[_notice_out(notice) for notice in found])


@notices_router.post(
    "/{notice_id}/ack",
    summary="Say whether the data was deleted, or retained and on what legal ground",
    response_model=NoticeOut,
    responses=problem_responses(*_AUTH, NOTICE_NOT_FOUND, NOTICE_ANSWERED),
)
def acknowledge_notice(
    body: NoticeAck,
    principal: Reader,
    runtime: RuntimeDep,
    session: DbSession,
    notice_id: Annotated[str, Path(max_length=36)],
) -> NoticeOut:
    notice = notices.acknowledge(
        session,
        runtime.audit,
        principal,
        notice_id,
        body.outcome,
        body.legal_reason,
        datetime.now(UTC),
    )
    return _notice_out(notice)
