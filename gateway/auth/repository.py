"""All SQL of the auth feature: the used-assertion register."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.auth.tables import UsedAssertion


def remember_assertion(session: Session, client_id: str, jti: str, expires_at: datetime) -> bool:
    """Record a client assertion's ``jti``; False when this client used it before.

    The primary key makes the check atomic across processes: of two concurrent requests with the
    same ``jti``, the second waits for the first to commit and then fails the insert.
    """
    try:
        with session.begin_nested():
            session.add(UsedAssertion(client_id=client_id, jti=jti, expires_at=expires_at))
    except IntegrityError:
        return False
    return True


def forget_expired_assertions(session: Session, client_id: str, now: datetime) -> None:
    """Drop this client's expired ``jti``s: an expired assertion is refused for its ``exp``."""
    session.execute(
        delete(UsedAssertion).where(
            UsedAssertion.client_id == client_id, UsedAssertion.expires_at < now
        )
    )
