"""Migration 0013: the exchanges and their release rows, and the messages, move into the one
release ledger; withdrawal notices made after it still name what was released before it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from gateway.db.engine import make_engine
from gateway.db.migrate import downgrade, upgrade
from tests.support import fresh_database

NOW = datetime.now(UTC).replace(microsecond=0)
ABH, JC, JA = "koeln-auslaenderbehoerde", "koeln-jobcenter", "koeln-jugendamt"


def _execute(url: str, statements: list[tuple[str, dict]]) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for statement, values in statements:
                connection.execute(sa.text(statement), values)
    finally:
        engine.dispose()


def _rows(url: str, query: str) -> list[tuple]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


def _message(message_id: str, fetched: datetime | None) -> tuple[str, dict]:
    return (
        "INSERT INTO messages (id, sender, recipient, subject_id, category, purpose,"
        " legal_basis, policy_flow, consent_id, consent_version, state, created_at, expires_at,"
        " first_fetched_at) VALUES (:id, :sender, :recipient, 's-1', 'case_contact',"
        " 'case_management', 'consent', 'reference/contacts', 'c-1', 1, 'acknowledged',"
        " :created, :expires, :fetched)",
        {"id": message_id, "sender": JC, "recipient": JA, "created": NOW - timedelta(hours=2),
         "expires": NOW + timedelta(days=30), "fetched": fetched},
    )  # fmt: skip


@pytest.fixture
def before_ledger(postgres_url: str | None) -> Iterator[str]:
    with fresh_database(postgres_url, "ledger") as url:
        downgrade(url, "0012")
        released = NOW - timedelta(days=1)
        _execute(
            url,
            [
                (
                    "INSERT INTO exchanges (id, requester, provider, subject_id, purpose,"
                    " categories, released_at) VALUES ('x-1', :jc, :abh, 's-1', 'case_management',"
                    " :categories, :at)",
                    {
                        "jc": JC,
                        "abh": ABH,
                        "categories": '["case_contact", "residence_status"]',
                        "at": released,
                    },
                ),
                (
                    "INSERT INTO exchange_releases (exchange_id, category, consent_id,"
                    " consent_version) VALUES ('x-1', 'residence_status', 'c-1', 2),"
                    " ('x-1', 'case_contact', NULL, NULL)",
                    {},
                ),
                _message("m-fetched", NOW - timedelta(hours=1)),
                _message("m-unread", None),
            ],
        )
        yield url


def test_exchanges_and_messages_become_ledger_rows(before_ledger: str):
    upgrade(before_ledger)
    ledger = _rows(
        before_ledger,
        "SELECT kind, coalesce(message_id, id), category, provider, recipient, consent_id,"
        " consent_version, policy_flow FROM releases ORDER BY kind, coalesce(message_id, id),"
        " category",
    )
    assert ledger == [
        ("message_accepted", "m-fetched", "case_contact", JC, JA, "c-1", 1, "reference/contacts"),
        ("message_accepted", "m-unread", "case_contact", JC, JA, "c-1", 1, "reference/contacts"),
        ("message_fetched", "m-fetched", "case_contact", JC, JA, "c-1", 1, "reference/contacts"),
        ("query", "x-1", "case_contact", ABH, JC, None, None, None),  # a statute: no consent
        ("query", "x-1", "residence_status", ABH, JC, "c-1", 2, None),
    ]
    assert _rows(before_ledger, "SELECT count(*) FROM releases WHERE subject_id = 's-1'") == [(5,)]

    downgrade(before_ledger, "0012")  # and back: the exchanges as they were
    assert _rows(
        before_ledger,
        "SELECT exchange_id, category, consent_id, consent_version FROM exchange_releases"
        " ORDER BY category",
    ) == [("x-1", "case_contact", None, None), ("x-1", "residence_status", "c-1", 2)]
    assert _rows(before_ledger, "SELECT id, requester, provider FROM exchanges") == [
        ("x-1", JC, ABH)
    ]
