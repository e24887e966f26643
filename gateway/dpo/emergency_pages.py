"""The DPO's pages on emergency access (§ 8a SGB VIII): every window at once, one window with
its uses, reading a use's sealed justification (on record before it is shown), the review and
the deferral of showing it to the person.

A justification is shown in the answer to its POST only: never in an address, never kept in a
redirect's target, never cached (the DPO pages' no-store headers)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from gateway.db.session import DbSession
from gateway.dpo import emergency, labels, search
from gateway.dpo.access import Dpo, DpoForm, DpoPage
from gateway.dpo.pages import now, page
from gateway.emergency import review
from gateway.emergency.review import ReviewError
from gateway.emergency.tables import Verdict
from gateway.runtime import RuntimeDep
from gateway.web.pages import PageLanguage, see_other

router = APIRouter(prefix="/dpo", include_in_schema=False)

WindowId = Annotated[str, Path(max_length=64)]  # an unknown one is "no such page"
UseId = Annotated[str, Form(max_length=36)]
Done = Literal["reviewed", "deferred", "resumed"]


@router.get("/emergency")
def emergency_list(
    request: Request, dpo: DpoPage, session: DbSession, runtime: RuntimeDep, language: PageLanguage
) -> HTMLResponse:
    context = {
        "rows": emergency.rows(session, runtime.audit, now()),
        "names": search.names(session),
        "review_days": runtime.settings.emergency_review_days,
    }
    return page(request, language, dpo, "emergency", context)


def _window_page(
    request: Request,
    language: PageLanguage,
    dpo: Dpo,
    runtime: RuntimeDep,
    window_id: str,
    **shown: Any,
) -> HTMLResponse:
    with runtime.database.transaction(read_only=True) as session:
        view = emergency.detail(
            session,
            runtime.audit,
            window_id,
            now(),
            runtime.settings.emergency_max_deferral_days,
        )
        names = search.names(session)
    context = {"view": view, "names": names, "done": None, "error": None, "read": None,
               "read_use": None, "asked": {}} | shown  # fmt: skip
    status = 422 if context["error"] else 200
    response = page(request, language, dpo, "emergency_window", context)
    response.status_code = status
    return response


def _refused(error: ReviewError) -> str:
    return labels.review_error(error.code, error.values)


@router.get("/emergency/{window_id}")
def emergency_window(
    request: Request,
    dpo: DpoPage,
    runtime: RuntimeDep,
    language: PageLanguage,
    window_id: WindowId,
    done: Annotated[Done | None, Query()] = None,
) -> HTMLResponse:
    return _window_page(request, language, dpo, runtime, window_id, done=done)


@router.post("/emergency/{window_id}/justification")
def read_justification(
    request: Request,
    dpo: DpoForm,
    runtime: RuntimeDep,
    language: PageLanguage,
    window_id: WindowId,
    use: UseId,
) -> HTMLResponse:
    # Answered directly: the text is shown in this answer only.
    try:
        read = emergency.read(runtime.database, runtime.audit, runtime.sealing, window_id, use,
                              actor=dpo.id, now=now())  # fmt: skip
    except ReviewError as error:
        return _window_page(request, language, dpo, runtime, window_id, error=_refused(error))
    return _window_page(request, language, dpo, runtime, window_id, read=read, read_use=use)


@router.post("/emergency/{window_id}/review")
def review_window(
    request: Request,
    dpo: DpoForm,
    runtime: RuntimeDep,
    language: PageLanguage,
    window_id: WindowId,
    verdict: Annotated[Verdict | None, Form()] = None,
    comment: Annotated[str, Form(max_length=review.COMMENT_MAX * 2)] = "",
) -> Response:
    asked = {"verdict": verdict.value if verdict else "", "comment": comment}
    try:
        if verdict is None:
            raise ReviewError("a verdict is required", "verdict_required")
        review.review(runtime.database, runtime.audit, window_id, verdict=verdict,
                      comment=comment, actor=dpo.id, now=now())  # fmt: skip
    except ReviewError as error:
        return _refused_page(request, language, dpo, runtime, window_id, error, asked)
    return see_other(f"/dpo/emergency/{window_id}?done=reviewed")


@router.post("/emergency/{window_id}/defer")
def defer(
    request: Request,
    dpo: DpoForm,
    runtime: RuntimeDep,
    language: PageLanguage,
    window_id: WindowId,
    until: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=review.REASON_MAX * 2)] = "",
) -> Response:
    asked = {"until": until, "reason": reason}
    try:
        review.defer(runtime.database, runtime.audit, window_id, until=_day(until),
                     reason=reason, actor=dpo.id, now=now(),
                     max_days=runtime.settings.emergency_max_deferral_days)  # fmt: skip
    except ReviewError as error:
        return _refused_page(request, language, dpo, runtime, window_id, error, asked)
    return see_other(f"/dpo/emergency/{window_id}?done=deferred")


@router.post("/emergency/{window_id}/end-deferral")
def end_deferral(
    request: Request,
    dpo: DpoForm,
    runtime: RuntimeDep,
    language: PageLanguage,
    window_id: WindowId,
) -> Response:
    try:
        review.end_deferral(runtime.database, runtime.audit, window_id, actor=dpo.id, now=now())
    except ReviewError as error:
        return _refused_page(request, language, dpo, runtime, window_id, error, {})
    return see_other(f"/dpo/emergency/{window_id}?done=resumed")


def _refused_page(
    request: Request,
    language: PageLanguage,
    dpo: Dpo,
    runtime: RuntimeDep,
    window_id: str,
    error: ReviewError,
    asked: dict[str, str],
) -> HTMLResponse:
    """The window again, saying why nothing was done, with what was typed kept in the form;
    an unknown window is "no such page"."""
    if isinstance(error, review.NotFound):
        # No such window: its page answers "no such page".
        return _window_page(request, language, dpo, runtime, window_id)
    return _window_page(
        request, language, dpo, runtime, window_id, error=_refused(error), asked=asked
    )


def _day(given: str) -> datetime:
    """A deferral's date: showing resumes at the start of that day (UTC)."""
    try:
        return datetime.combine(date.fromisoformat(given), time(), UTC)
    except ValueError:
        raise ReviewError("not a date", "date_invalid") from None
