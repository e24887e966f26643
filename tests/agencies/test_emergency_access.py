"""``gateway agency emergency-access``: which agencies may make emergency queries (§ 8a SGB
VIII). Only a kind an emergency flow delivers to can get it; every change is audited; the
scope shows in the listing."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from gateway.agencies.tables import Client
from gateway.audit.tables import AuditEntry
from gateway.db.engine import Database
from tests.agencies.test_cli import add_agency, listed, refused, succeeded


def scope_changes(database: Database) -> list[dict]:
    with database.transaction(read_only=True) as session:
        bodies = session.scalars(
            select(AuditEntry.body)
            .where(AuditEntry.event == "client.scopes_changed")
            .order_by(AuditEntry.id)
        )
        return [json.loads(body)["details"] for body in bodies if body]


def scopes(database: Database, client_id: str) -> set[str]:
    with database.transaction(read_only=True) as session:
        client = session.get(Client, client_id)
        assert client is not None
        return set(client.scopes.split())


def test_a_youth_welfare_office_gets_and_loses_emergency_access_on_record(
    gateway, jwks_file: Path, database: Database
):
    succeeded(add_agency(gateway, "--jwks", str(jwks_file), agency_id="koeln-jugendamt",
                         kind="youth_welfare_office"))  # fmt: skip
    assert "exchange:emergency" not in scopes(database, "koeln-jugendamt")

    output = succeeded(gateway("agency", "emergency-access", "koeln-jugendamt", "--grant"))
    assert "may make emergency queries" in output
    assert "exchange:emergency" in scopes(database, "koeln-jugendamt")
    assert [row["emergency"] for row in listed(gateway)] == [True]
    assert "(unchanged)" in succeeded(
        gateway("agency", "emergency-access", "koeln-jugendamt", "--grant")
    )

    succeeded(gateway("agency", "emergency-access", "koeln-jugendamt", "--revoke"))
    assert "exchange:emergency" not in scopes(database, "koeln-jugendamt")
    assert "exchange:query" in scopes(database, "koeln-jugendamt")  # the others stay
    assert scope_changes(database) == [
        {"client": "koeln-jugendamt", "added": "exchange:emergency"},
        {"client": "koeln-jugendamt", "removed": "exchange:emergency"},
    ]


def test_an_agency_no_emergency_flow_delivers_to_is_refused(
    gateway, jwks_file: Path, database: Database
):
    succeeded(add_agency(gateway, "--jwks", str(jwks_file)))  # a job centre
    output = refused(gateway("agency", "emergency-access", "koeln-jobcenter", "--grant"))
    assert "no emergency flow" in output
    assert "exchange:emergency" not in scopes(database, "koeln-jobcenter")
    assert scope_changes(database) == []


def test_an_unknown_agency_or_a_missing_choice_is_refused(gateway):
    assert "no agency" in refused(gateway("agency", "emergency-access", "nobody", "--grant"))
    result = gateway("agency", "emergency-access", "nobody")
    assert result.exit_code != 0
    assert "--grant" in result.output
