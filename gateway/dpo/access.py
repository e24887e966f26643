"""Who is looking: the signed-in DPO of a page request or of a form post."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from gateway.dpo import repository
from gateway.runtime import Runtime, RuntimeDep
from gateway.web.guard import checked_form, signed_in
from gateway.web.pages import SignInRequired
from gateway.web.sessions import PageSession, Realm

_live = signed_in(Realm.DPO)
_posted = checked_form(Realm.DPO)


@dataclass(frozen=True)
class Dpo:
    id: str
    name: str
    page_session: PageSession

    @property
    def csrf_token(self) -> str:
        return self.page_session.csrf_token


def _dpo(page_session: PageSession, runtime: Runtime) -> Dpo:
    # Disabling a user ends their sessions; this also keeps out a user disabled by hand.
    with runtime.database.transaction(read_only=True) as session:
        user = repository.user(session, page_session.principal)
    if user is None or not user.enabled:
        raise SignInRequired(Realm.DPO)
    return Dpo(user.id, user.name, page_session)


def _viewing(page_session: Annotated[PageSession, Depends(_live)], runtime: RuntimeDep) -> Dpo:
    return _dpo(page_session, runtime)


def _posting(page_session: Annotated[PageSession, Depends(_posted)], runtime: RuntimeDep) -> Dpo:
    return _dpo(page_session, runtime)


# A page only a signed-in DPO sees; a form post that also carries the session's CSRF token.
DpoPage = Annotated[Dpo, Depends(_viewing)]
DpoForm = Annotated[Dpo, Depends(_posting)]
