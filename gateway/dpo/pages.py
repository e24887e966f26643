"""What the DPO's page modules share: rendering a page with the DPO's session, the time, the
request's id, and the posted fields that find a person (never in an address)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse

from gateway.dpo import labels, people
from gateway.dpo.access import Dpo
from gateway.web.i18n import Language
from gateway.web.pages import render

Agency = Annotated[str, Form(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Reference = Annotated[str, Form(min_length=1, max_length=people.REFERENCE_MAX)]


# How a language joins the items of a list: Arabic and Farsi write their own comma.
_COMMAS = {"ar": "\u060c ", "fa": "\u060c "}


def comma(language: Language) -> str:
    return _COMMAS.get(language.code, ", ")


def now() -> datetime:
    return datetime.now(UTC)


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def page(
    request: Request,
    language: Language,
    dpo: Dpo,
    template: str,
    context: dict[str, Any],
) -> HTMLResponse:
    return render(
        request,
        f"dpo/{template}.html",
        language,
        {"dpo": dpo, "term": labels.term, "labels": labels, "comma": comma(language), **context},
        csrf_token=dpo.csrf_token,
    )
