"""Migration 0016 adds the table of rectification notices, with its one-open-notice rule, and
takes it away on downgrading."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from gateway.db.engine import make_engine
from gateway.db.migrate import downgrade, upgrade
from tests.support import fresh_database

NOW = datetime.now(UTC)
INSERT = sa.text(
    "INSERT INTO rectifications (id, subject_id, provider, recipient, category, release_id,"
    " released_at, flagged_at, answered_at) VALUES (:id, 'amira', 'abh', 'jc',"
    " 'residence_status', 'r1', :now, :now, :answered)"
)


def test_0016_adds_rectifications_and_downgrading_takes_them_away(postgres_url: str | None):
    with fresh_database(postgres_url, "rect") as url:
        downgrade(url, "0014")
        engine = make_engine(url)
        try:
            assert "rectifications" not in sa.inspect(engine).get_table_names()
            upgrade(url, "0016")
            assert "rectifications" in sa.inspect(engine).get_table_names()
            with engine.begin() as connection:
                connection.execute(INSERT, {"id": "a", "now": NOW, "answered": NOW})
                connection.execute(INSERT, {"id": "b", "now": NOW, "answered": None})
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(INSERT, {"id": "c", "now": NOW, "answered": None})
            downgrade(url, "0014")
            assert "rectifications" not in sa.inspect(engine).get_table_names()
        finally:
            engine.dispose()
