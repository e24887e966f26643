"""Dependencies of the people's pages: the signed-in session of a realm (or a redirect to its
sign-in page), the CSRF check of a posted form, and the visitor's address for throttling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Form, Request

from gateway.runtime import RuntimeDep
from gateway.web import sessions
from gateway.web.pages import SignInRequired
from gateway.web.sessions import PageSession, Realm


def signed_in(realm: Realm) -> Callable[..., PageSession]:
    """The live session of ``realm`` from its cookie; otherwise the visitor is sent to sign in.

    Looking at a session keeps it alive, a write, done in a short transaction of its own: in
    the request's transaction it would hold the write lock (SQLite has one for everybody)
    for as long as the page takes, a long report or a full audit verification included."""

    def dependency(request: Request, runtime: RuntimeDep) -> PageSession:
        token = request.cookies.get(realm.cookie)
        with runtime.database.transaction() as session:
            found = sessions.current(session, realm, token, runtime.settings, datetime.now(UTC))
        if found is None:
            raise SignInRequired(realm)
        return found

    return dependency


def checked_form(realm: Realm) -> Callable[..., PageSession]:
    """For a form post: the live session, and the form's ``csrf_token`` must be its token."""
    live = signed_in(realm)

    def dependency(
        request: Request,
        runtime: RuntimeDep,
        csrf_token: Annotated[str, Form(max_length=100)] = "",
    ) -> PageSession:
        page_session = live(request, runtime)
        sessions.check_csrf(page_session.csrf_token, csrf_token)
        return page_session

    return dependency


def check_sign_in_form(request: Request, csrf_token: str) -> None:
    """A sign-in form's token must match the cookie set with the form (double submit)."""
    sessions.check_csrf(request.cookies.get(sessions.SIGN_IN_CSRF_COOKIE), csrf_token)


def address(request: Request) -> str | None:
    """The visitor's address, only to count failed sign-ins under a keyed hash."""
    return request.client.host if request.client else None
