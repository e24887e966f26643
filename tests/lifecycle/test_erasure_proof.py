"""The audit log survives erasure: once a person's periods have run out, no row anywhere holds
their subject id or any of their references (on SQLite not even the bytes of the database
file and its write-ahead log), the log still verifies, and its entries about them still name
them by the same pseudonym, which nothing links to anyone any more."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import LargeBinary, func, select
from sqlalchemy.engine import make_url

from gateway.audit.service import decode
from gateway.audit.tables import AuditEntry
from gateway.db.metadata import metadata
from gateway.lifecycle import repository, service
from gateway.lifecycle.periods import Periods
from gateway.lifecycle.service import Kind
from gateway.subjects.tables import SubjectReference
from tests.adversarial.conftest import (
    ABH,
    AMIRA,
    BENEFITS,
    CONFERENCE,
    CONTACTS,
    JA,
    JC,
    RESIDENCE,
    City,
)
from tests.keys.operator import command_line

INVITATION = {"recipient": JA, "subject_ref": AMIRA[JC], "category": "case_conference",
              "purpose": "case_management", "payload": CONFERENCE}  # fmt: skip


def _everything_of_a_person(city: City) -> tuple[str, dict[str, Any]]:
    """Amira with everything the gateway keeps of a person: a consent with its portal code,
    a query released, a message handed over and acknowledged, a portal sign-in, the consent
    withdrawn, the notices answered. Returns her subject id and the consent's answer."""
    consent = city.recorded(JC, AMIRA, RESIDENCE, BENEFITS, CONTACTS)
    assert city.ask(JC, ABH, AMIRA[JC]).status_code == 200
    sent = city.post(JC, "/v1/messages", INVITATION)
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["message_id"]
    assert city.get(JA, f"/v1/messages/{message_id}").status_code == 200
    assert city.post(JA, f"/v1/messages/{message_id}/ack").status_code == 200
    with city.browser() as browser:
        assert city.sign_in(browser, consent["portal_code"]).status_code == 303
    withdrawn = city.post(JC, f"/v1/consents/{consent['consent_id']}/withdraw",
                          {"channel": "in_person"})  # fmt: skip
    assert withdrawn.status_code == 200, withdrawn.text
    for recipient in (JC, JA):
        for notice in city.get(recipient, "/v1/notices").json()["notices"]:
            ack = city.post(recipient, f"/v1/notices/{notice['notice_id']}/ack",
                            {"outcome": "deleted"})  # fmt: skip
            assert ack.status_code == 200, ack.text
    with city.runtime.database.transaction(read_only=True) as session:
        subject_id = session.scalar(
            select(SubjectReference.subject_id).where(
                SubjectReference.agency_id == JC, SubjectReference.reference == AMIRA[JC]
            )
        )
    assert subject_id is not None
    return subject_id, consent


def _found_in_rows(city: City, needles: list[str]) -> list[str]:
    """Where any needle occurs in any column of any row of any table (audit log included)."""
    found = []
    with city.runtime.database.transaction(read_only=True) as session:
        for table in metadata.sorted_tables:
            for row in session.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    if value is None:
                        continue
                    if isinstance(column.type, LargeBinary):
                        text = bytes(value).decode("latin-1")
                    elif isinstance(value, dict | list):
                        text = json.dumps(value, ensure_ascii=False)
                    else:
                        text = str(value)
                    found += [f"{table.name}.{column.name}: {n}" for n in needles if n in text]
    return found


def _sqlite_files(city: City) -> list[Path]:
    url = make_url(city.runtime.settings.database_url)
    if url.get_backend_name() != "sqlite":
        return []
    main = Path(str(url.database))
    return [path for path in (main, Path(f"{main}-wal")) if path.exists()]


def test_an_erased_person_is_nowhere_in_the_database_and_the_log_still_verifies(
    city: City, tmp_path: Path
) -> None:
    subject_id, consent = _everything_of_a_person(city)
    runtime = city.runtime
    pseudonym = runtime.audit.pseudonymizer.pseudonym(subject_id)
    runtime.audit.publish(runtime.database)
    needles = [subject_id, *AMIRA.values()]
    assert _found_in_rows(city, needles), "the test's person is in the database before"

    later = datetime.now(UTC) + timedelta(days=4 * 365)  # every period has run out
    report = service.run(
        runtime.database,
        runtime.audit,
        Periods.of(runtime.settings, runtime.policies),
        now=later,
    )
    assert report.erased[Kind.CONSENTS] == 1
    assert report.erased[Kind.PERSONS] == 1
    truncated = repository.truncate_wal(runtime.database)
    runtime.audit.publish(runtime.database)

    assert _found_in_rows(city, needles) == []
    for path in _sqlite_files(city):
        content = path.read_bytes()
        assert truncated or path.suffix != "-wal"
        assert [n for n in needles if n.encode() in content] == [], path.name

    # The log verifies, and still names her by the same pseudonym, which nothing links now.
    verified = command_line(runtime.settings, tmp_path)("audit", "verify", "--wait", "0")
    assert verified.exit_code == 0, verified.output
    with runtime.database.transaction(read_only=True) as session:
        about_her = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.subject == pseudonym)
        )
        erasures = [
            decode(body)["details"]
            for body in session.scalars(
                select(AuditEntry.body).where(AuditEntry.event == "lifecycle.erased")
            )
        ]
    assert about_her >= 5  # recorded, released, sent, fetched, withdrawn, ...
    persons = [entry for entry in erasures if entry["kind"] == "persons"]
    assert persons == [
        {"kind": "persons", "persons": 1, "rectifications": 0, "references": 4,
         "subjects": pseudonym}
    ]  # fmt: skip
    consents = [entry for entry in erasures if entry["kind"] == "consents"]
    assert [entry["consent_ids"] for entry in consents] == [consent["consent_id"]]
