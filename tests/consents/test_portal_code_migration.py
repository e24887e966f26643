"""Migration 0010: the codes consents carried become code issues of their recorders; a person
keeps only the newest one live, and portal sessions (which named a consent) end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from gateway.consents.receipts import new_portal_code
from gateway.db.engine import make_engine
from gateway.db.migrate import downgrade, upgrade
from tests.support import fresh_database

NOW = datetime.now(UTC)
# Two consents of one person (the newer recorded by the social office), one of another person.
CONSENTS = [
    ("c-old", "amira", "koeln-jobcenter", NOW - timedelta(days=30)),
    ("c-new", "amira", "koeln-sozialamt", NOW - timedelta(days=1)),
    ("c-other", "oleksii", "koeln-jobcenter", NOW - timedelta(days=10)),
]


@pytest.fixture
def before_issues(postgres_url: str | None) -> Iterator[tuple[str, dict[str, str]]]:
    with fresh_database(postgres_url, "codes") as url:
        downgrade(url, "0009")
        hashes = {consent_id: new_portal_code()[1] for consent_id, *_ in CONSENTS}
        engine = make_engine(url)
        with engine.begin() as connection:
            for subject in ("amira", "oleksii"):
                connection.execute(
                    sa.text("INSERT INTO subjects (id, created_at) VALUES (:id, :now)"),
                    {"id": subject, "now": NOW},
                )
            for consent_id, subject, recorder, created in CONSENTS:
                connection.execute(
                    sa.text(
                        "INSERT INTO consents (id, subject_id, recorded_by, created_at,"
                        " current_version, portal_code_hash) VALUES (:id, :subject, :by,"
                        " :created, 1, :hash)"
                    ),
                    {"id": consent_id, "subject": subject, "by": recorder, "created": created,
                     "hash": hashes[consent_id]},
                )  # fmt: skip
            connection.execute(
                sa.text(
                    "INSERT INTO web_sessions (token_hash, realm, principal, csrf_token,"
                    " created_at, last_seen_at) VALUES ('t', 'portal', 'c-old', 'x', :now, :now)"
                ),
                {"now": NOW},
            )
        engine.dispose()
        yield url, hashes


def _rows(url: str, query: str) -> list[tuple]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


def test_each_person_keeps_only_the_newest_code_and_portal_sessions_end(before_issues):
    url, hashes = before_issues
    upgrade(url)
    codes = _rows(
        url,
        "SELECT consent_id, subject_id, issued_by, code_hash, ended_at IS NULL FROM portal_codes"
        " ORDER BY consent_id",
    )
    assert codes == [
        ("c-new", "amira", "koeln-sozialamt", hashes["c-new"], True),
        ("c-old", "amira", "koeln-jobcenter", hashes["c-old"], False),
        ("c-other", "oleksii", "koeln-jobcenter", hashes["c-other"], True),
    ]
    assert _rows(url, "SELECT count(*) FROM web_sessions") == [(0,)]

    downgrade(url, "0009")  # and back: each consent carries a code again, the live ones kept
    carried = dict(_rows(url, "SELECT id, portal_code_hash FROM consents"))
    assert carried["c-new"] == hashes["c-new"]
    assert carried["c-other"] == hashes["c-other"]
    assert carried["c-old"] not in hashes.values()
