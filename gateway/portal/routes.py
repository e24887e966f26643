"""The client portal's pages (``/portal/``): HTTP only; the work is in ``service``, ``views``
and ``history``. No JavaScript: plain links and forms, each form with its CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gateway.consents import dpv
from gateway.db.session import DbSession, WritingSession
from gateway.portal import history, offices, receipt, rectifications, service, views
from gateway.portal.labels import Reader
from gateway.rectifications.service import TextTooLong
from gateway.runtime import Runtime, RuntimeDep
from gateway.web import sessions
from gateway.web.guard import address, check_sign_in_form, checked_form, signed_in
from gateway.web.i18n import Language
from gateway.web.pages import PageLanguage, render, see_other
from gateway.web.sessions import SIGN_IN_CSRF_COOKIE, PageSession, Realm

router = APIRouter(prefix="/portal", include_in_schema=False)
_live = signed_in(Realm.PORTAL)
_posted = checked_form(Realm.PORTAL)


def _signed_in(page_session: PageSession, runtime: Runtime) -> service.Person:
    # Whether the code still lets its holder in is read in a short transaction of its own,
    # like the session it belongs to (see web.guard).
    with runtime.database.transaction(read_only=True) as session:
        return service.person(session, runtime, page_session, datetime.now(UTC))


def _viewing(
    page_session: Annotated[PageSession, Depends(_live)], runtime: RuntimeDep
) -> service.Person:
    return _signed_in(page_session, runtime)


def _posting(
    page_session: Annotated[PageSession, Depends(_posted)], runtime: RuntimeDep
) -> service.Person:
    return _signed_in(page_session, runtime)


def _visiting(request: Request, runtime: RuntimeDep) -> service.Person | None:
    # Looking keeps a live session alive (a write), in a short transaction of its own.
    token = request.cookies.get(Realm.PORTAL.cookie)
    if token is None:
        return None
    with runtime.database.transaction() as session:
        return service.visitor(session, runtime, token, datetime.now(UTC))


# A page only the signed-in person sees; a form post that also carries the session's token.
Person = Annotated[service.Person, Depends(_viewing)]
PersonForm = Annotated[service.Person, Depends(_posting)]
# A page open to everybody that shows a signed-in person their own things.
Visitor = Annotated[service.Person | None, Depends(_visiting)]
# Signing out needs only the session: it works even when the code has ended meanwhile.
SessionForm = Annotated[PageSession, Depends(_posted)]
NoticeName = Annotated[str, Query(max_length=30)]
PermissionNumber = Annotated[str, Query(max_length=8)]  # digits only, checked by the service
_LONGEST_TYPED = 64
CONSENTS = service.CONSENTS_PAGE


# -- signing in and out ---------------------------------------------------------------------


@router.get("/", response_model=None)
def sign_in_page(
    request: Request,
    language: PageLanguage,
    session: WritingSession,  # a visitor's expired session is removed here
    runtime: RuntimeDep,
    notice: NoticeName = "",
) -> HTMLResponse | RedirectResponse:
    token = request.cookies.get(Realm.PORTAL.cookie)
    if service.live_session(session, runtime, token, datetime.now(UTC)) is not None:
        return see_other(CONSENTS)
    return _sign_in_form(request, language, runtime, notice=notice)


@router.post("/", response_model=None)
def sign_in(
    request: Request,
    language: PageLanguage,
    session: WritingSession,
    runtime: RuntimeDep,
    code: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    check_sign_in_form(request, csrf_token)
    outcome = service.sign_in(
        session,
        runtime,
        code,
        address=address(request),
        previous=request.cookies.get(Realm.PORTAL.cookie),
        now=datetime.now(UTC),
        request_id=getattr(request.state, "request_id", None),
    )
    if isinstance(outcome, service.SignedIn):
        response = see_other(CONSENTS)
        sessions.set_cookie(response, Realm.PORTAL, outcome.token, runtime.settings)
        return response
    status = 429 if outcome.refusal is service.Refusal.LOCKED else 400
    return _sign_in_form(request, language, runtime, refused=outcome, code=code, status=status)


@router.post("/sign-out")
def sign_out(
    session: WritingSession, page_session: SessionForm, runtime: RuntimeDep
) -> RedirectResponse:
    service.sign_out(session, page_session)
    response = see_other("/portal/?notice=signed-out")
    sessions.clear_cookie(response, Realm.PORTAL, runtime.settings)
    return response


def _sign_in_form(
    request: Request,
    language: Language,
    runtime: Runtime,
    *,
    refused: service.Refused | None = None,
    code: str = "",
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    token = sessions.sign_in_token(request.cookies.get(SIGN_IN_CSRF_COOKIE))
    reader = _reader(language, runtime)
    until = refused.locked_until if refused else None
    context = {
        "error": service.REFUSALS[refused.refusal] if refused else None,
        "last_try": service.LAST_TRY if refused and refused.last_try else None,
        "minutes": runtime.settings.login_lockout_minutes,
        "paused_until": reader.minute_after(until) if until else None,
        # What was typed stays in the field, to correct rather than type again.
        "code": code[:_LONGEST_TYPED],
        "signed_out": notice == "signed-out",
        "session_ended": notice == service.SESSION_ENDED,
        "section": "sign-in",
        "code_issue": None,
    }
    response = render(
        request, "portal/sign_in.html", language, context, status=status, csrf_token=token
    )
    sessions.set_sign_in_cookie(response, Realm.PORTAL, token, runtime.settings)
    return response


def _reader(language: Language, runtime: Runtime) -> Reader:
    return Reader(language, ZoneInfo(runtime.settings.time_zone))


# -- the person's pages ---------------------------------------------------------------------


@router.get("/consents")
def consents_page(
    request: Request,
    language: PageLanguage,
    session: DbSession,
    runtime: RuntimeDep,
    person: Person,
    notice: NoticeName = "",
    permission: PermissionNumber = "",
) -> HTMLResponse:
    reader = _reader(language, runtime)
    found = views.my_consents(session, person.subject_id, reader, datetime.now(UTC))
    told = service.notice_text(notice, permission)
    context = {"consents": found, "notice": told, "section": "consents"}
    return _page(request, "consents", language, person, context, runtime)


@router.get("/help")
def help_page(
    request: Request,
    language: PageLanguage,
    session: DbSession,
    runtime: RuntimeDep,
    person: Visitor,
) -> HTMLResponse:
    """Open without signing in (whoever cannot sign in needs it most): signed out, every
    office of the registry; signed in, the person's own offices."""
    context: dict[str, Any] = {
        "operator": runtime.settings.portal_operator,
        "authority": runtime.settings.supervisory_authority,
        "section": "help",
    }
    if person is None:
        context |= {"contacts": offices.every_office(session), "visitor": True}
        return render(request, "portal/help.html", language, context | {"code_issue": None})
    context |= {
        "contacts": offices.offices(session, person.subject_id, person.code.issued_by),
        "visitor": False,
    }
    return _page(request, "help", language, person, context, runtime)


@router.get("/consents/{consent_id}/receipt")
def receipt_page(
    request: Request,
    language: PageLanguage,
    session: DbSession,
    runtime: RuntimeDep,
    person: Person,
    consent_id: str,
) -> HTMLResponse:
    view = receipt.receipt(
        session,
        person.subject_id,
        consent_id,
        runtime.settings.issuer,
        _reader(language, runtime),
        datetime.now(UTC),
    )
    context = {"view": view, "section": "consents"}
    return _page(request, "receipt", language, person, context, runtime)


@router.get("/consents/{consent_id}/record")
def record_download(
    session: DbSession, runtime: RuntimeDep, person: Person, consent_id: str
) -> Response:
    download = service.record_file(session, runtime, person, consent_id)
    return Response(
        download.body,
        media_type=dpv.MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{download.filename}"'},
    )


@router.get("/consents/{consent_id}/withdraw")
def confirm_withdrawal(
    request: Request,
    language: PageLanguage,
    session: DbSession,
    runtime: RuntimeDep,
    person: Person,
    consent_id: str,
) -> HTMLResponse:
    return _confirmation(request, language, session, runtime, person, consent_id, None)


@router.get("/consents/{consent_id}/permissions/{number}/withdraw")
def confirm_permission_withdrawal(
    request: Request,
    language: PageLanguage,
    session: DbSession,
    runtime: RuntimeDep,
    person: Person,
    consent_id: str,
    number: int,
) -> HTMLResponse:
    return _confirmation(request, language, session, runtime, person, consent_id, number)


@router.post("/consents/{consent_id}/withdraw")
def withdraw(
    request: Request,
    session: WritingSession,
    runtime: RuntimeDep,
    person: PersonForm,
    consent_id: str,
) -> RedirectResponse:
    return _withdraw(request, session, runtime, person, consent_id, None)


@router.post("/consents/{consent_id}/permissions/{number}/withdraw")
def withdraw_permission(
    request: Request,
    session: WritingSession,
    runtime: RuntimeDep,
    person: PersonForm,
    consent_id: str,
    number: int,
) -> RedirectResponse:
    return _withdraw(request, session, runtime, person, consent_id, number)


def _confirmation(
    request: Request,
    language: Language,
    session: Session,
    runtime: Runtime,
    person: service.Person,
    consent_id: str,
    number: int | None,
) -> HTMLResponse:
    reader = _reader(language, runtime)
    confirmation = views.confirmation(
        session, person.subject_id, consent_id, number, reader, datetime.now(UTC)
    )
    context = {"confirmation": confirmation, "whole": number is None, "section": "consents"}
    return _page(request, "confirm", language, person, context, runtime)


def _withdraw(
    request: Request,
    session: Session,
    runtime: Runtime,
    person: service.Person,
    consent_id: str,
    number: int | None,
) -> RedirectResponse:
    notice = service.withdraw(
        session,
        runtime,
        person,
        consent_id,
        permission=number,
        request_id=getattr(request.state, "request_id", None),
    )
    return see_other(service.notice_address(notice, number))


HISTORY = "/portal/history"
ReleaseId = Annotated[str, Path(max_length=36)]
CategoryCode = Annotated[str, Path(max_length=48)]


@router.get("/history")
def history_page(
    request: Request,
    language: PageLanguage,
    session: DbSession,
    runtime: RuntimeDep,
    person: Person,
    notice: NoticeName = "",
) -> HTMLResponse:
    reader, now = _reader(language, runtime), datetime.now(UTC)
    context = {
        "entries": history.who_asked(session, runtime.audit, person.subject_id, reader, now),
        "released": rectifications.passed_on(session, person.subject_id, reader, now),
        "notice": rectifications.notice_text(notice),
        "section": "history",
    }
    return _page(request, "history", language, person, context, runtime)


@router.get("/history/releases/{release_id}/{category}/wrong")
def wrong_form(
    request: Request,
    language: PageLanguage,
    session: DbSession,
    runtime: RuntimeDep,
    person: Person,
    release_id: ReleaseId,
    category: CategoryCode,
) -> HTMLResponse:
    reader = _reader(language, runtime)
    view = rectifications.release(
        session, person.subject_id, release_id, category, reader, datetime.now(UTC)
    )
    context = {"release": view, "text": "", "error": None, "section": "history"}
    return _page(request, "wrong", language, person, context, runtime)


@router.post("/history/releases/{release_id}/{category}/wrong", response_model=None)
def flag_wrong(
    request: Request,
    language: PageLanguage,
    session: WritingSession,
    runtime: RuntimeDep,
    person: PersonForm,
    release_id: ReleaseId,
    category: CategoryCode,
    text: Annotated[str, Form(max_length=4000)] = "",
) -> HTMLResponse | RedirectResponse:
    try:
        notice = service.flag_wrong(
            session,
            runtime,
            person,
            release_id,
            category,
            text,
            request_id=getattr(request.state, "request_id", None),
        )
    except TextTooLong:
        reader = _reader(language, runtime)
        view = rectifications.release(
            session, person.subject_id, release_id, category, reader, datetime.now(UTC)
        )
        context = {"release": view, "text": text, "error": rectifications.TOO_LONG}
        context |= {"section": "history"}
        return _page(request, "wrong", language, person, context, runtime, 400)
    return see_other(f"{HISTORY}?notice={notice.value}")


def _page(
    request: Request,
    name: str,
    language: Language,
    person: service.Person,
    context: dict[str, Any],
    runtime: Runtime,
    status: int = 200,
) -> HTMLResponse:
    # Every page says whose code is in use: an agency holding the person's code is seen.
    issued_on = _reader(language, runtime).day(person.code.issued_at)
    code_issue = {"office": person.issued_by, "date": issued_on}
    context = {**context, "code_issue": code_issue}
    return render(
        request,
        f"portal/{name}.html",
        language,
        context,
        status=status,
        csrf_token=person.csrf_token,
    )
