"""Migration 0014: consent versions recorded before keep no age band (nobody asked), are read
as "not stated", and still decide exchanges as they did; the age band goes on downgrading."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from consent.check import VerifiedConsent, check
from consent.model import GiverRole
from gateway.consents import repository
from gateway.consents.tables import ConsentVersion
from gateway.db.engine import make_engine
from gateway.db.migrate import downgrade, upgrade
from tests.support import fresh_database

NOW = datetime.now(UTC)
ABH, JC = "koeln-auslaenderbehoerde", "koeln-jobcenter"
GRANT = {"from": ABH, "to": JC, "categories": ["residence_status"], "purposes": ["case_management"]}


@pytest.fixture
def before_age_bands(postgres_url: str | None) -> Iterator[str]:
    with fresh_database(postgres_url, "ages") as url:
        downgrade(url, "0013")
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO subjects (id, created_at) VALUES ('amira', :now)"),
                {"now": NOW},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO consents (id, subject_id, recorded_by, created_at,"
                    " current_version) VALUES ('c-old', 'amira', :jc, :now, 1)"
                ),
                {"jc": JC, "now": NOW},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO consent_versions (consent_id, version, status, valid_from,"
                    " valid_until, grants, given_by, notice, evidence, recorded_at, recorded_by,"
                    " receipt) VALUES ('c-old', 1, 'active', :start, :end, :grants, :givers,"
                    " '{}', '{}', :start, :jc, 'x')"
                ),
                {"start": NOW - timedelta(days=1), "end": NOW + timedelta(days=30), "jc": JC,
                 "grants": json.dumps([GRANT]), "givers": json.dumps(["confiding_person"])},
            )  # fmt: skip
            connection.execute(
                sa.text(
                    "INSERT INTO consent_permissions (consent_id, version, provider, recipient,"
                    " category, purpose, subject_id) VALUES ('c-old', 1, :abh, :jc,"
                    " 'residence_status', 'case_management', 'amira')"
                ),
                {"abh": ABH, "jc": JC},
            )
        engine.dispose()
        yield url


def test_earlier_versions_keep_no_age_band_and_still_decide_as_before(before_age_bands: str):
    url = before_age_bands
    upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            version = session.get(ConsentVersion, ("c-old", 1))
            assert version is not None
            assert version.subject_age_band is None
            permissions = repository.permissions(session, "amira", ABH, JC, given_by=True)
        assert [p.given_by for p in permissions] == [frozenset({GiverRole.CONFIDING_PERSON})]
        question = {"provider": ABH, "recipient": JC, "category": "residence_status",
                    "purpose": "case_management", "at": NOW}  # fmt: skip
        assert isinstance(check(permissions, **question), VerifiedConsent)
        assert isinstance(check(permissions, **question, confided=True), VerifiedConsent)
    finally:
        engine.dispose()

    downgrade(url, "0013")
    engine = make_engine(url)
    try:
        columns = {column["name"] for column in sa.inspect(engine).get_columns("consent_versions")}
    finally:
        engine.dispose()
    assert "subject_age_band" not in columns
    assert "given_by" in columns
