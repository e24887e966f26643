"""Rendering pages: one Jinja2 environment for all features, autoescaped, with gettext.

Templates are named by feature: ``web/base.html``, ``portal/...``, ``dpo/...``. Every page
gets ``lang`` (the chosen ``Language``), ``languages`` (for the switcher), ``here`` (the page's
path), ``in_language`` (the page's address in another language: the same path and query, so
filters, a report's query and a confirmation stay on a switch) and ``csrf_token`` when it has
one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import Cookie, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import (
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from gateway.errors import ProblemType
from gateway.web import i18n
from gateway.web.i18n import LANGUAGE_COOKIE, LANGUAGES, Language
from gateway.web.sessions import Realm

_GATEWAY = Path(__file__).parent.parent
STATIC = Path(__file__).parent / "static"

environment = Environment(
    loader=PrefixLoader(
        {
            feature: FileSystemLoader(_GATEWAY / feature / "templates")
            for feature in ("web", "portal", "dpo")
        }
    ),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]


@pass_context
def _number(context: Context, value: float) -> str:
    """A count or measure as the page's language writes it (``1.234.567`` in German, with
    Latin digits in every language)."""
    language: Language = context["lang"]
    return format_decimal(value, locale=language.code)


environment.filters["number"] = _number


def _language(
    lang: Annotated[str | None, Query(max_length=8, include_in_schema=False)] = None,
    remembered: Annotated[str | None, Cookie(alias=LANGUAGE_COOKIE)] = None,
    accept_language: Annotated[str | None, Header(max_length=500)] = None,
) -> Language:
    return i18n.choose(lang, remembered, accept_language)


PageLanguage = Annotated[Language, Depends(_language)]


def render(
    request: Request,
    template: str,
    language: Language,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    csrf_token: str | None = None,
) -> HTMLResponse:
    page = environment.get_template(template)
    with i18n.speaking(language):
        html = page.render(
            lang=language,
            languages=LANGUAGES.values(),
            here=request.url.path,
            in_language=lambda code: _in_language(request, code),
            csrf_token=csrf_token,
            **(context or {}),
        )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") == language.code:
        remember_language(response, language)
    return response


def _in_language(request: Request, code: str) -> str:
    kept = [(name, value) for name, value in request.query_params.multi_items() if name != "lang"]
    return f"{request.url.path}?{urlencode([*kept, ('lang', code)])}"


def remember_language(response: HTMLResponse | RedirectResponse, language: Language) -> None:
    response.set_cookie(
        LANGUAGE_COOKIE, language.code, max_age=365 * 24 * 3600, httponly=True, samesite="lax"
    )


def see_other(path: str) -> RedirectResponse:
    """After a form post: the browser loads ``path`` with GET (no resubmission on reload)."""
    return RedirectResponse(path, status_code=303)


class SignInRequired(Exception):
    """The page needs a live session of ``realm``; answered by a redirect to its sign-in."""

    def __init__(self, realm: Realm):
        super().__init__(realm.value)
        self.realm = realm


# Where a realm's sign-in page says why it is shown (the portal: "you were signed out, or your
# session ended"), rather than looking as if nothing had happened.
_SIGN_IN_AGAIN = {Realm.PORTAL: "?notice=session-ended"}


async def sign_in_required(request: Request, error: Exception) -> RedirectResponse:
    assert isinstance(error, SignInRequired)
    return see_other(error.realm.path + _SIGN_IN_AGAIN.get(error.realm, ""))


_ERROR_TEXTS = {
    403: i18n.N_(
        "This form has expired or was not sent from this site. Go back, reload the page "
        "and try again."
    ),
    404: i18n.N_("There is no such page."),
    422: i18n.N_("Something in the form was not right. Go back and check it."),
    429: i18n.N_("Too many attempts. Please wait a while and try again."),
}
_GENERIC_ERROR = i18n.N_("Something went wrong. Please try again later.")


def page_errors(request: Request, kind: ProblemType) -> HTMLResponse | None:
    """Errors on the people's pages are pages in the visitor's language, not problem JSON."""
    if not request.url.path.startswith(("/portal", "/dpo")):
        return None
    language = i18n.choose(
        request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )
    text = _ERROR_TEXTS.get(kind.status, _GENERIC_ERROR)
    home = "/dpo/" if request.url.path.startswith("/dpo") else "/portal/"
    context = {"status": kind.status, "text": text, "home": home}
    return render(request, "web/error.html", language, context, status=kind.status)
