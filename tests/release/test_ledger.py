"""The release ledger: per release and category, to whom, under which consent version and flow.
Withdrawal notices are made from it, so it must hold exactly what was released, whichever way
it was written (in the event loop or on a thread)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.db.engine import Database
from gateway.release import ledger
from gateway.release.tables import Kind, Release
from tests.support import run_in_new_loop

RELEASED_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _row(release_id: str, category: str, consent: tuple[str, int] | None) -> dict[str, Any]:
    return {
        "id": release_id,
        "category": category,
        "kind": Kind.QUERY.value,
        "message_id": None,
        "provider": "koeln-auslaenderbehoerde",
        "recipient": "koeln-jobcenter",
        "subject_id": "s-1",
        "purpose": "case_management",
        "policy_flow": "reference/flow",
        "consent_id": consent[0] if consent else None,
        "consent_version": consent[1] if consent else None,
        "released_at": RELEASED_AT,
    }


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
def test_a_release_is_recorded_with_each_category_and_its_consent(database: Database, write):
    def record(session: Session) -> None:
        ledger.add(
            session,
            [_row("x-1", "residence_status", ("c-1", 3)), _row("x-1", "case_contact", None)],
        )

    write(database, record)

    with database.transaction(read_only=True) as session:
        rows = session.scalars(
            select(Release).where(Release.id == "x-1").order_by(Release.category)
        ).all()
    assert [(r.category, r.consent_id, r.consent_version) for r in rows] == [
        ("case_contact", None, None),  # a statute: no consent
        ("residence_status", "c-1", 3),
    ]
    assert {(r.recipient, r.provider, r.subject_id, r.purpose) for r in rows} == {
        ("koeln-jobcenter", "koeln-auslaenderbehoerde", "s-1", "case_management")
    }
    assert {(r.kind, r.released_at, r.policy_flow) for r in rows} == {
        ("query", RELEASED_AT, "reference/flow")
    }


def test_what_was_received_under_a_consent_leaves_out_messages_not_yet_fetched(
    database: Database,
):
    accepted = _row("m-accepted", "case_contact", ("c-1", 1)) | {
        "kind": Kind.MESSAGE_ACCEPTED.value,
        "message_id": "m-1",
    }
    fetched = _row("m-fetched", "case_contact", ("c-1", 1)) | {
        "kind": Kind.MESSAGE_FETCHED.value,
        "message_id": "m-1",
    }
    other = _row("x-other", "residence_status", ("c-2", 1))
    with database.transaction() as session:
        ledger.add(session, [_row("x-1", "residence_status", ("c-1", 1)), accepted, fetched, other])

    with database.transaction(read_only=True) as session:
        received = ledger.received_under(session, "c-1")
    assert sorted((row.kind, row.id, row.message_id) for row in received) == [
        ("message_fetched", "m-fetched", "m-1"),
        ("query", "x-1", None),
    ]


def test_a_failed_release_leaves_nothing_behind(database: Database):
    def record_twice(session: Session) -> None:
        for _ in range(2):  # the second release of the same id fails
            ledger.add(session, [_row("x-2", "residence_status", ("c-1", 1))])

    with pytest.raises(IntegrityError):
        _in_the_loop(database, record_twice)

    with database.transaction(read_only=True) as session:
        assert session.scalars(select(Release).where(Release.id == "x-2")).all() == []
