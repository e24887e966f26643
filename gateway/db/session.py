"""The request's database session: one transaction per request, owned by these dependencies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gateway.errors import GatewayError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _request_session(request: Request) -> Iterator[Session]:
    yield from _transaction(request, read_only=request.method in SAFE_METHODS)


def _writing_session(request: Request) -> Iterator[Session]:
    yield from _transaction(request, read_only=False)


def _transaction(request: Request, *, read_only: bool) -> Iterator[Session]:
    runtime = request.app.state.runtime
    try:
        with runtime.database.transaction(read_only=read_only) as session:
            yield session
    except GatewayError as refused:
        # Rolled back by now; a refusal that belongs in the log is written on its own, so
        # that it is on record although nothing else the request did is.
        if refused.audited is not None:
            with runtime.database.transaction() as session:
                runtime.audit.record(session, refused.audited)
        raise


# scope="function": the transaction commits before the response is sent, so a client never
# sees an answer whose effects (or audit entry) were not durably committed.
# GET, HEAD and OPTIONS requests get a read-only transaction ...
DbSession = Annotated[Session, Depends(_request_session, scope="function")]
# ... unless the route asks for this one: a GET that records something (e.g. an audited read).
WritingSession = Annotated[Session, Depends(_writing_session, scope="function")]
