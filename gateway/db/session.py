"""The request's database session: one transaction per request, owned by these dependencies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _request_session(request: Request) -> Iterator[Session]:
    read_only = request.method in SAFE_METHODS
    with request.app.state.runtime.database.transaction(read_only=read_only) as session:
        yield session


def _writing_session(request: Request) -> Iterator[Session]:
    with request.app.state.runtime.database.transaction() as session:
        yield session


# scope="function": the transaction commits before the response is sent, so a client never
# sees an answer whose effects (or audit entry) were not durably committed.
# GET, HEAD and OPTIONS requests get a read-only transaction ...
DbSession = Annotated[Session, Depends(_request_session, scope="function")]
# ... unless the route asks for this one: a GET that records something (e.g. an audited read).
WritingSession = Annotated[Session, Depends(_writing_session, scope="function")]
