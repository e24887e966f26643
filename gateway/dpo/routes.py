"""The DPO's pages under /dpo/: sign-in, overview, audit search and export, integrity, a
person's access report, open withdrawal notices, the records of processing and the
integration-monitoring indicators.

Thin: each page checks the session (and a form's CSRF token), calls one service function and
renders. Nothing personal ever stands in an address: a person's reference is only ever posted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from gateway.audit.cosigned import witness_statuses
from gateway.db.session import DbSession, WritingSession
from gateway.dpo import (
    details,
    downloads,
    fields,
    indicators,
    integrity,
    overview,
    people,
    search,
    signin,
)
from gateway.dpo.access import DpoForm, DpoPage
from gateway.dpo.pages import Agency, Reference, now, page, request_id
from gateway.dpo.search import Search
from gateway.policy.service import records_of_processing
from gateway.runtime import RuntimeDep
from gateway.web import sessions
from gateway.web.guard import address, check_sign_in_form
from gateway.web.pages import PageLanguage, render, see_other
from gateway.web.sessions import Realm

router = APIRouter(prefix="/dpo", include_in_schema=False)

HOME = "/dpo/overview"
Code = Annotated[str | None, Query(max_length=64)]


# -- signing in and out ------------------------------------------------------------------------


def _sign_in_form(
    request: Request,
    runtime: RuntimeDep,
    language: PageLanguage,
    *,
    failed: bool = False,
    user: str = "",
    locked: datetime | None = None,
) -> HTMLResponse:
    # After a failure the user name stays (only the password is typed again); a lock says
    # until when.
    token = sessions.sign_in_token(request.cookies.get(sessions.SIGN_IN_CSRF_COOKIE))
    context = {"failed": failed, "user": user, "locked": locked}
    response = render(request, "dpo/sign_in.html", language, context, csrf_token=token,
                      status=429 if locked else 200)  # fmt: skip
    sessions.set_sign_in_cookie(response, Realm.DPO, token, runtime.settings)
    return response


@router.get("/")
def sign_in_page(
    request: Request, session: WritingSession, runtime: RuntimeDep, language: PageLanguage
) -> Response:
    token = request.cookies.get(Realm.DPO.cookie)
    if signin.is_signed_in(session, runtime.settings, token, now()):
        return see_other(HOME)
    return _sign_in_form(request, runtime, language)


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: WritingSession,
    runtime: RuntimeDep,
    language: PageLanguage,
    user: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_sign_in_form(request, csrf_token)
    outcome = signin.sign_in(
        session,
        runtime.audit,
        runtime.settings,
        runtime.sealing,
        signin.Credentials(user, password, code),
        address=address(request),
        request_id=request_id(request),
        now=now(),
    )
    if isinstance(outcome, signin.SignedIn):
        response: Response = see_other(HOME)
        sessions.set_cookie(response, Realm.DPO, outcome.token, runtime.settings)
        return response
    if isinstance(outcome, signin.Locked):
        locked = _sign_in_form(request, runtime, language, user=user, locked=outcome.until)
        wait = max(1, int((outcome.until - now()).total_seconds()))
        locked.headers["Retry-After"] = str(wait)
        return locked
    return _sign_in_form(request, runtime, language, failed=True, user=user)


@router.post("/sign-out")
def sign_out(
    request: Request, dpo: DpoForm, session: WritingSession, runtime: RuntimeDep
) -> Response:
    signin.sign_out(session, runtime.audit, dpo.page_session, request_id(request))
    response = see_other(Realm.DPO.path)
    sessions.clear_cookie(response, Realm.DPO, runtime.settings)
    return response


# -- overview and audit search -----------------------------------------------------------------


@router.get("/overview")
def overview_page(
    request: Request,
    dpo: DpoPage,
    session: DbSession,
    language: PageLanguage,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> HTMLResponse:
    view = overview.overview(session, days, now())
    # The template draws the charts through ``overview`` (as it renders, in its language).
    context = {"view": view, "periods": overview.PERIODS, "charts": overview}
    return page(request, language, dpo, "overview", context)


def _search(
    since: Code = None,
    until: Code = None,
    agency: Code = None,
    event: Code = None,
    decision: Code = None,
    reason: Code = None,
    category: Code = None,
    purpose: Code = None,
    sort: Code = None,
    direction: Code = None,
    column: Annotated[list[str] | None, Query()] = None,
) -> Search:
    given = {"since": since, "until": until, "agency": agency, "event": event}
    given |= {"decision": decision, "reason": reason, "category": category, "purpose": purpose}
    return search.parse(given, sort=sort, direction=direction, columns=column or ())


Wanted = Annotated[Search, Depends(_search)]


@router.get("/audit")
def audit_page(
    request: Request,
    dpo: DpoPage,
    session: DbSession,
    language: PageLanguage,
    wanted: Wanted,
    cursor: Code = None,
) -> HTMLResponse:
    context = {
        "search": wanted,
        "cursor": cursor,
        "choices": search.choices(session),
        "results": search.result_page(session, wanted, cursor),
        "names": search.names(session),
    }
    return page(request, language, dpo, "audit", context)


@router.get("/audit/entries/{entry_id}")
def entry_page(
    request: Request,
    dpo: DpoPage,
    session: DbSession,
    runtime: RuntimeDep,
    language: PageLanguage,
    wanted: Wanted,
    entry_id: Annotated[int, Path(ge=1, le=2**62)],
    cursor: Code = None,
) -> HTMLResponse:
    # The search it was opened from stays in the address, for the way back to the list.
    detail = search.entry(session, entry_id, runtime.audit.verifier)
    context: dict[str, Any] = {
        "detail": detail,
        "search": wanted,
        "cursor": cursor,
        "names": search.names(session),
    }
    context["details"] = details  # the entry's details in words, as the page renders
    return page(request, language, dpo, "entry", context)


def _download(found: downloads.Download) -> StreamingResponse:
    return StreamingResponse(
        iter(found.lines),
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )


@router.get("/audit/export")
def export(
    request: Request,
    dpo: DpoPage,
    session: WritingSession,
    runtime: RuntimeDep,
    language: PageLanguage,
    wanted: Wanted,
    format: downloads.AuditFormat = "csv",
) -> StreamingResponse:
    found = downloads.audit_export(
        session,
        runtime.audit,
        runtime.database,
        dpo_id=dpo.id,
        kind=format,
        language=language,
        wanted=wanted,
        request_id=request_id(request),
    )
    return _download(found)


# -- integrity ---------------------------------------------------------------------------------


@router.get("/integrity")
def integrity_page(
    request: Request,
    dpo: DpoPage,
    session: DbSession,
    runtime: RuntimeDep,
    language: PageLanguage,
) -> HTMLResponse:
    view = integrity.status(session, runtime.audit, runtime.settings.audit_checkpoint_interval)
    witnesses = witness_statuses(
        session, [witness.name for witness in runtime.settings.witness_policy.witnesses]
    )
    context = {
        "view": view,
        "witnesses": witnesses,
        "quorum": runtime.settings.witness_policy.quorum,
    }
    return page(request, language, dpo, "integrity", context)


@router.get("/integrity/{kept}")
def integrity_download(
    request: Request,
    dpo: DpoPage,
    session: WritingSession,
    runtime: RuntimeDep,
    kept: Literal["checkpoint", "key"],
) -> Response:
    made = integrity.checkpoint_file if kept == "checkpoint" else integrity.key_file
    download = made(session, runtime.audit, dpo.id, request_id(request))
    return Response(
        download.text,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{download.filename}"'},
    )


@router.post("/integrity/verify")
def verify_now(
    request: Request,
    dpo: DpoForm,
    runtime: RuntimeDep,
    scope: Annotated[Literal["new", "whole"], Form()] = "new",
) -> Response:
    integrity.verify_now(
        runtime.database,
        runtime.audit,
        dpo.id,
        request_id(request),
        now(),
        policy=runtime.settings.witness_policy,
        whole=scope == "whole",
    )
    return see_other("/dpo/integrity#verification")


# -- people ------------------------------------------------------------------------------------


@router.get("/report")
def report_form(
    request: Request, dpo: DpoPage, session: DbSession, language: PageLanguage
) -> HTMLResponse:
    context: dict[str, Any] = {"agencies": people.agencies(session), "asked": None}
    context |= {"report": None, "names": search.names(session), "columns": search.REPORT_COLUMNS}
    return page(request, language, dpo, "report", context)


@router.post("/report")
def report(
    request: Request,
    dpo: DpoForm,
    runtime: RuntimeDep,
    language: PageLanguage,
    agency: Agency,
    reference: Reference,
    column: Annotated[list[str] | None, Form()] = None,
) -> HTMLResponse:
    # Answered directly, not redirected: the result can only be found again with the
    # reference, and that must not go into an address (a language switch posts it again).
    # No request session: the report reads, then records, in transactions of its own.
    found = people.access_report(
        runtime.database,
        runtime.audit,
        dpo_id=dpo.id,
        agency=agency,
        reference=reference,
        request_id=request_id(request),
        now=now(),
    )
    with runtime.database.transaction(read_only=True) as session:
        names = search.names(session)
    context = {
        "agencies": found.agencies,
        "asked": {"agency": agency, "reference": reference},
        "columns": search.report_columns(column or ()),
        "report": found.report,
        "names": names,
    }
    return page(request, language, dpo, "report", context)


@router.post("/report/download", response_model=None)
def report_download(
    request: Request,
    dpo: DpoForm,
    runtime: RuntimeDep,
    language: PageLanguage,
    agency: Agency,
    reference: Reference,
    format: Annotated[downloads.ReportFormat, Form()] = "csv",
) -> Response:
    found = downloads.access_report(
        runtime.database,
        runtime.audit,
        dpo_id=dpo.id,
        agency=agency,
        reference=reference,
        kind=format,
        language=language,
        request_id=request_id(request),
        now=now(),
    )
    if found is None:  # nobody under this reference: the page says so
        return report(request, dpo, runtime, language, agency, reference)
    return _download(found)


@router.get("/notices")
def notices_page(
    request: Request, dpo: DpoPage, session: DbSession, language: PageLanguage
) -> HTMLResponse:
    notices = people.outstanding_notices(session, now())
    context = {"notices": notices, "names": search.names(session)}
    return page(request, language, dpo, "notices", context)


@router.get("/records")
def records_page(
    request: Request, dpo: DpoPage, runtime: RuntimeDep, language: PageLanguage
) -> HTMLResponse:
    records = records_of_processing(runtime.policies)
    context = {"records": records, "field_name": fields.field_name}
    return page(request, language, dpo, "records", context)


# -- integration monitoring --------------------------------------------------------------------


@router.get("/indicators")
def indicators_page(
    request: Request,
    dpo: DpoPage,
    session: WritingSession,
    runtime: RuntimeDep,
    language: PageLanguage,
    first: Annotated[str | None, Query(alias="from", max_length=16)] = None,
    last: Annotated[str | None, Query(alias="to", max_length=16)] = None,
    municipality: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    # Period and municipality are no personal data: they may stand in the address.
    view = indicators.view(
        session,
        runtime.database,
        runtime.audit,
        dpo_id=dpo.id,
        first=first,
        last=last,
        municipality=municipality,
        request_id=request_id(request),
        now=now(),
        threshold=runtime.settings.monitoring_min_cell,
    )
    # The template makes the sections through ``indicators`` (as it renders, in its language).
    return page(request, language, dpo, "indicators", {"view": view, "indicators": indicators})
