"""The request's database session: one transaction per request, owned by this dependency."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session


def _request_session(request: Request) -> Iterator[Session]:
    with request.app.state.runtime.database.transaction() as session:
        yield session


# scope="function": the transaction commits before the response is sent, so a client never
# sees an answer whose effects (or audit entry) were not durably committed.
DbSession = Annotated[Session, Depends(_request_session, scope="function")]
