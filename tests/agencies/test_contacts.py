"""An agency's contact details (how a person reaches it): registered with ``gateway agency add``
or ``gateway agency update``, each field checked before anything is stored, a change recorded
in the log by the names of the fields that changed, never their values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.agencies import contacts
from gateway.agencies.contacts import Contact, ContactError
from gateway.audit.events import EventType
from gateway.audit.tables import AuditEntry
from gateway.db.engine import Database
from tests.agencies.test_cli import add_agency, refused, succeeded
from tests.support import new_ed25519, public_jwks

ADDRESS = "Luxemburger Straße 121\n50939 Köln"


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "agency.jwks.json"
    path.write_text(public_jwks(new_ed25519()))
    return path


def shown(gateway, agency_id: str = "koeln-jobcenter") -> dict[str, Any]:
    return dict(json.loads(succeeded(gateway("agency", "show", agency_id))))


def updates(database: Database) -> list[dict[str, Any]]:
    with database.transaction(read_only=True) as session:
        query = select(AuditEntry.body).where(AuditEntry.event == EventType.AGENCY_UPDATED.value)
        return [json.loads(body) for body in session.scalars(query)]


def test_an_agency_is_registered_with_its_contact_details(gateway, jwks_file):
    succeeded(
        add_agency(
            gateway, "--jwks", str(jwks_file), "--address", "Luxemburger Straße 121\\n50939 Köln",
            "--phone", "+49 221 9429-0", "--hours", "Mo-Fr 8-12", "--interpreter",
            "Arabisch, Dari: bei der Terminvereinbarung sagen",
            "--privacy-email", "datenschutz@jobcenter.example",
        )
    )  # fmt: skip
    contact = shown(gateway)["contact"]
    assert contact["address"] == ADDRESS  # \n on the command line is a line break
    assert contact["phone"] == "+49 221 9429-0"
    assert contact["privacy_email"] == "datenschutz@jobcenter.example"
    assert contact["email"] is None


def test_an_update_changes_the_fields_given_keeps_the_others_and_clears_empty_ones(
    gateway, jwks_file, database: Database
):
    succeeded(add_agency(gateway, "--jwks", str(jwks_file), "--phone", "0221 1", "--hours", "Mo"))

    output = succeeded(
        gateway("agency", "update", "koeln-jobcenter", "--hours", "", "--email", "a@b.example",
                "--name", "Jobcenter Köln-Mitte")
    )  # fmt: skip

    assert "name, email, hours" in output
    agency = shown(gateway)
    assert agency["name"] == "Jobcenter Köln-Mitte"
    assert agency["contact"]["phone"] == "0221 1"
    assert agency["contact"]["hours"] is None
    assert agency["contact"]["email"] == "a@b.example"
    # The log says what changed, not to what.
    (update,) = updates(database)
    assert update["details"] == {"agency": "koeln-jobcenter", "changed": "name,email,hours"}
    assert "a@b.example" not in json.dumps(update)


def test_an_update_that_changes_nothing_records_nothing(gateway, jwks_file, database: Database):
    succeeded(add_agency(gateway, "--jwks", str(jwks_file), "--phone", "0221 1"))
    assert "nothing changed" in succeeded(
        gateway("agency", "update", "koeln-jobcenter", "--phone", "0221 1")
    )
    assert updates(database) == []


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--phone", "call us", "phone"),
        ("--phone", "+49 221\n1", "phone"),
        ("--email", "not an address", "email"),
        ("--privacy-email", "a@b", "privacy email"),
        ("--website", "http://jobcenter.example", "https://"),
        ("--website", "javascript:alert(1)", "https://"),
        ("--hours", "x" * 301, "300"),
        ("--address", "Straße\x1b[31m 1", "control"),
    ],
)
def test_a_bad_contact_field_is_refused_and_nothing_changes(
    gateway, jwks_file, database: Database, option, value, says
):
    succeeded(add_agency(gateway, "--jwks", str(jwks_file), "--hours", "Mo"))
    before = shown(gateway)

    assert says in refused(gateway("agency", "update", "koeln-jobcenter", option, value,
                                   "--name", "Jobcenter Neu"))  # fmt: skip

    assert shown(gateway) == before  # not even the good field changed
    assert updates(database) == []


def test_a_bad_contact_field_refuses_the_registration(gateway, jwks_file, database: Database):
    assert "phone" in refused(add_agency(gateway, "--jwks", str(jwks_file), "--phone", "call"))
    assert "no agency" in refused(gateway("agency", "show", "koeln-jobcenter"))


def test_updating_an_unknown_agency_is_refused(gateway):
    assert "no agency" in refused(gateway("agency", "update", "koeln-nowhere", "--phone", "1"))


def test_a_phone_link_has_only_digits_whatever_the_spacing():
    assert Contact(phone="+49 (221) 9429-0").phone_link == "tel:+4922194290"
    assert Contact(phone="0221 / 1234").phone_link == "tel:02211234"
    assert not Contact().given


def test_unknown_fields_are_refused():
    with pytest.raises(ContactError):
        contacts.checked({"fax": "0221"})
