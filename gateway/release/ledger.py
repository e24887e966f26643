"""All SQL of the release ledger."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from gateway.release.tables import Kind, Release

# A Core insert built once: the ORM's unit of work costs more than the statement, and this
# runs on every release.
_RELEASES: Table = Release.__table__  # type: ignore[assignment]  # mapped to a Table
_INSERT = _RELEASES.insert()


def add(session: Session, rows: list[dict[str, Any]]) -> None:
    """Ledger rows, each a dict of the table's columns, in one statement."""
    session.connection().execute(_INSERT, rows)


def received_under(session: Session, consent_id: str) -> Sequence[Any]:
    """What recipients received under this consent (a query's answer, a fetched message),
    oldest first: kind, exchange or message id, provider, recipient, category, purpose."""
    return session.execute(
        select(
            Release.kind,
            Release.id,
            Release.message_id,
            Release.provider,
            Release.recipient,
            Release.category,
            Release.purpose,
        )
        .where(
            Release.consent_id == consent_id,
            Release.kind.in_([Kind.QUERY.value, Kind.MESSAGE_FETCHED.value]),
        )
        .order_by(Release.released_at, Release.id)
    ).all()


def received_about(session: Session, subject_id: str) -> Sequence[Any]:
    """What recipients received about this person (a query's answer, a fetched message),
    newest first: release id, category, kind, message id, provider, recipient, purpose, when,
    consent id."""
    return session.execute(
        select(
            Release.id,
            Release.category,
            Release.kind,
            Release.message_id,
            Release.provider,
            Release.recipient,
            Release.purpose,
            Release.released_at,
            Release.consent_id,
        )
        .where(
            Release.subject_id == subject_id,
            Release.kind.in_([Kind.QUERY.value, Kind.MESSAGE_FETCHED.value]),
        )
        .order_by(Release.released_at.desc(), Release.id, Release.category)
    ).all()
