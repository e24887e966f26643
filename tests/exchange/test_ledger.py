"""The release ledger: an exchange and, per category released, the consent version it rested
on. Withdrawal notices are made from it, so it must hold exactly what was released, whichever
way it was written (one statement on PostgreSQL, two on SQLite; in the event loop or not)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.db.engine import Database
from gateway.exchange import repository
from gateway.exchange.tables import Exchange, Release
from tests.support import run_in_new_loop

RELEASED_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _release(
    session: Session, exchange_id: str, consents: dict[str, tuple[str, int] | None]
) -> None:
    repository.add_release(
        session,
        exchange_id=exchange_id,
        requester="koeln-jobcenter",
        provider="koeln-auslaenderbehoerde",
        subject_id="s-1",
        purpose="case_management",
        released_at=RELEASED_AT,
        consents=consents,
    )


def _in_a_thread(database: Database, work: Callable[[Session], None]) -> None:
    with database.transaction() as session:
        work(session)


def _in_the_loop(database: Database, work: Callable[[Session], None]) -> None:
    async def main() -> None:
        try:
            await database.run(work)
        finally:
            await database.close_loop()

    run_in_new_loop(main)


@pytest.mark.parametrize("write", [_in_a_thread, _in_the_loop])
def test_an_exchange_is_recorded_with_each_category_and_its_consent(database: Database, write):
    def record(session: Session) -> None:
        _release(session, "x-1", {"residence_status": ("c-1", 3), "case_contact": None})

    write(database, record)

    with database.transaction(read_only=True) as session:
        exchange = session.get(Exchange, "x-1")
        releases = session.execute(
            select(Release.category, Release.consent_id, Release.consent_version)
            .where(Release.exchange_id == "x-1")
            .order_by(Release.category)
        ).all()
    assert exchange is not None
    assert (exchange.requester, exchange.provider, exchange.subject_id) == (
        "koeln-jobcenter",
        "koeln-auslaenderbehoerde",
        "s-1",
    )
    assert exchange.purpose == "case_management"
    assert exchange.categories == ["case_contact", "residence_status"]
    assert exchange.released_at == RELEASED_AT
    assert [tuple(row) for row in releases] == [
        ("case_contact", None, None),  # a statute: no consent
        ("residence_status", "c-1", 3),
    ]


def test_a_failed_release_leaves_nothing_behind(database: Database):
    def record_twice(session: Session) -> None:
        for _ in range(2):  # the second exchange of the same id fails
            _release(session, "x-2", {"residence_status": ("c-1", 1)})

    with pytest.raises(IntegrityError):
        _in_the_loop(database, record_twice)

    with database.transaction(read_only=True) as session:
        assert session.get(Exchange, "x-2") is None
        assert session.scalars(select(Release).where(Release.exchange_id == "x-2")).all() == []
