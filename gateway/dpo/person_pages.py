"""The DPO's page on a person's restriction, legal hold and erasure (Art. 17, 18 GDPR): found
by a posted agency and reference, never by an address."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from gateway.dpo import people, search
from gateway.dpo.access import Dpo, DpoForm, DpoPage
from gateway.dpo.pages import Agency, Reference, now, page, request_id
from gateway.persons import service as persons
from gateway.runtime import RuntimeDep
from gateway.texts import PLAIN_TEXT
from gateway.web.pages import PageLanguage

router = APIRouter(prefix="/dpo", include_in_schema=False)


def _person_page(
    request: Request,
    language: PageLanguage,
    dpo: Dpo,
    runtime: RuntimeDep,
    asked: dict[str, str] | None,
    **context: Any,
) -> HTMLResponse:
    with runtime.database.transaction(read_only=True) as session:
        choices = people.agencies(session)
        names = search.names(session)  # the agencies and users by name, the ids on hover
    state = None
    if asked is not None and "state" not in context:
        try:
            state = persons.state(
                runtime.database,
                runtime.audit,
                agency=asked["agency"],
                reference=asked["reference"],
                actor=dpo.id,
                now=now(),
                request_id=request_id(request),
            )
        except persons.NotFound:
            state = None
    shown = {"agencies": choices, "names": names, "asked": asked, "state": state, "done": None,
             "confirm": False, "refused": None, "erased": False}  # fmt: skip
    return page(request, language, dpo, "person", shown | context)


@router.get("/person")
def person_form(
    request: Request, dpo: DpoPage, runtime: RuntimeDep, language: PageLanguage
) -> HTMLResponse:
    return _person_page(request, language, dpo, runtime, None)


@router.post("/person")
def person_page(
    request: Request,
    dpo: DpoForm,
    runtime: RuntimeDep,
    language: PageLanguage,
    agency: Agency,
    reference: Reference,
) -> HTMLResponse:
    # Answered directly, as the report: the person can be found again only with the reference.
    return _person_page(request, language, dpo, runtime, {"agency": agency, "reference": reference})


@router.post("/person/control")
def person_control(
    request: Request,
    dpo: DpoForm,
    runtime: RuntimeDep,
    language: PageLanguage,
    agency: Agency,
    reference: Reference,
    action: Annotated[persons.Action, Form()],
    note: Annotated[str, Form(max_length=persons.NOTE_MAX, pattern=PLAIN_TEXT)] = "",
) -> HTMLResponse:
    asked = {"agency": agency, "reference": reference}
    try:
        changed = persons.control(
            runtime.database,
            runtime.audit,
            action,
            agency=agency,
            reference=reference,
            actor=dpo.id,
            note=note,
            now=now(),
        )
    except persons.NotFound:
        return _person_page(request, language, dpo, runtime, asked)
    return _person_page(
        request, language, dpo, runtime, asked, state=changed.state, done=action.value
    )


@router.post("/person/erase")
def person_erase(
    request: Request,
    dpo: DpoForm,
    runtime: RuntimeDep,
    language: PageLanguage,
    agency: Agency,
    reference: Reference,
    confirmed: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    asked = {"agency": agency, "reference": reference}
    if not confirmed:
        return _person_page(request, language, dpo, runtime, asked, confirm=True)
    try:
        outcome = persons.erase(
            runtime.database,
            runtime.audit,
            agency=agency,
            reference=reference,
            actor=dpo.id,
            now=now(),
        )
    except persons.NotFound:
        return _person_page(request, language, dpo, runtime, asked)
    if isinstance(outcome, persons.Refused):
        return _person_page(
            request, language, dpo, runtime, asked, state=outcome.state, refused=outcome.reasons
        )
    return _person_page(request, language, dpo, runtime, asked, state=None, erased=True)
