"""HTTP routes of the audit log (scope audit:read)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from gateway.audit import access, reports
from gateway.audit.events import Decision, EventType
from gateway.audit.models import AccessReport, AuditPage, ConsistencyProof, InclusionProof
from gateway.audit.query import EntryFilter
from gateway.auth.dependencies import INSUFFICIENT_SCOPE, INVALID_TOKEN, Principal, require_scope
from gateway.auth.scopes import Scope
from gateway.dates import DAY, utc_moment
from gateway.db.session import DbSession, WritingSession
from gateway.errors import InvalidRequest, problem_responses
from gateway.runtime import RuntimeDep

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Dpo = Annotated[Principal, Depends(require_scope(Scope.AUDIT_READ))]
_AUTH_ERRORS = (INVALID_TOKEN, INSUFFICIENT_SCOPE)

AgencyId = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Word = Annotated[str | None, Query(pattern=r"^[a-z_]{1,48}$")]


# A time as RFC 3339 writes it, its offset optional (none: UTC, as the CLI reads it). Stated
# as a pattern, so that the document says what the server takes: no bare dates, no numbers.
_MOMENT = (
    rf"^{DAY}T([01]\d|2[0-3]):[0-5]\d"
    r"(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$"
)


def _filter(
    since: Annotated[
        str | None, Query(pattern=_MOMENT, description="From this time (inclusive).")
    ] = None,
    until: Annotated[str | None, Query(pattern=_MOMENT, description="Before this time.")] = None,
    agency: AgencyId = None,
    event: EventType | None = None,
    decision: Decision | None = None,
    reason: Word = None,
    category: Word = None,
    purpose: Word = None,
) -> EntryFilter:
    return EntryFilter(
        since=_utc(since, "since"),
        until=_utc(until, "until"),
        agency=agency,
        event=event.value if event else None,
        decision=decision.value if decision else None,
        reason=reason,
        category=category,
        purpose=purpose,
    )


def _utc(text: str | None, name: str) -> datetime | None:
    """A time without offset is read as UTC, as the CLI reads it."""
    if text is None:
        return None
    try:
        return utc_moment(text)
    except ValueError:  # the pattern admits only real days; this is the server's own check
        raise InvalidRequest(errors=[{"path": f"/query/{name}", "message": "not a time"}]) from None


Filter = Annotated[EntryFilter, Depends(_filter)]


@router.get(
    "/entries",
    summary="Search the audit log",
    response_model=AuditPage,
    responses=problem_responses(*_AUTH_ERRORS),
)
def list_audit_entries(
    dpo: Dpo,
    session: DbSession,
    criteria: Filter,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    return reports.entries_page(session, criteria, cursor, limit)


@router.get(
    "/checkpoint",
    summary="The latest signed checkpoint (C2SP signed note), with witness cosignatures",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **problem_responses(*_AUTH_ERRORS, reports.NO_CHECKPOINT, validation=False),
    },
)
def audit_checkpoint(dpo: Dpo, session: DbSession, runtime: RuntimeDep) -> PlainTextResponse:
    return PlainTextResponse(reports.latest_checkpoint(session, runtime.settings.witness_policy))


@router.get(
    "/key",
    summary="The log's verifier key (signed-note vkey)",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **problem_responses(*_AUTH_ERRORS, validation=False),
    },
)
def audit_key(dpo: Dpo, runtime: RuntimeDep) -> PlainTextResponse:
    return PlainTextResponse(runtime.audit.verifier.vkey() + "\n")


@router.get(
    "/proofs/inclusion",
    summary="RFC 6962 inclusion proof of one entry",
    response_model=InclusionProof,
    responses=problem_responses(*_AUTH_ERRORS),
)
def audit_inclusion_proof(
    dpo: Dpo,
    session: DbSession,
    index: Annotated[int, Query(ge=0)],
    tree_size: Annotated[int, Query(ge=1)],
) -> InclusionProof:
    return reports.inclusion(session, index, tree_size)


@router.get(
    "/proofs/consistency",
    summary="RFC 6962 consistency proof between two tree sizes",
    response_model=ConsistencyProof,
    responses=problem_responses(*_AUTH_ERRORS),
)
def audit_consistency_proof(
    dpo: Dpo,
    session: DbSession,
    first: Annotated[int, Query(ge=1)],
    second: Annotated[int, Query(ge=1)],
) -> ConsistencyProof:
    return reports.consistency(session, first, second)


@router.get(
    "/export",
    summary="Export the log (JSONL for verification, CSV for reading)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            }
        },
        **problem_responses(*_AUTH_ERRORS),
    },
)
def export_audit(
    request: Request,
    dpo: Dpo,
    runtime: RuntimeDep,
    session: WritingSession,
    criteria: Filter,
    format: Literal["jsonl", "csv"] = "jsonl",
) -> StreamingResponse:
    reports.record_export(
        session, runtime.audit, dpo.client_id, format, getattr(request.state, "request_id", None)
    )
    media_type = "text/csv" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        reports.export_lines(runtime.database, format, criteria),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="audit.{format}"'},
    )


@router.get(
    "/access-report",
    summary="Every decision about one person, found through the keyed pseudonym",
    description="The look is recorded in the log under the person's pseudonym, so the "
    "person's next report shows it.",
    response_model=AccessReport,
    responses=problem_responses(*_AUTH_ERRORS, access.UNKNOWN_SUBJECT),
)
def access_report(
    request: Request,
    dpo: Dpo,
    runtime: RuntimeDep,
    agency: Annotated[str, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")],
    subject_ref: Annotated[str, Query(min_length=1, max_length=128)],
) -> AccessReport:
    # No request session: the report reads and records in transactions of its own.
    return access.access_report(
        runtime.database,
        runtime.audit,
        actor=dpo.client_id,
        agency=agency,
        reference=subject_ref,
        request_id=getattr(request.state, "request_id", None),
    )
