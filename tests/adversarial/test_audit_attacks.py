"""Attacks on promise 6 (the audit log is tamper-evident and holds no readable personal data)
and on the trace a DPO's look leaves, by the actors who can reach the log:

- the operator, who can write to the database (with or without its triggers) and runs the
  ``gateway`` command beside the live gateway, but has no business erasing the log's history;
- a DPO tool with export rights (scope ``audit:read``), who reads every entry and may try to
  recover what was released, or link persons, from what the entries carry.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from gateway.audit import repository
from gateway.audit.events import OPERATOR, EventType
from gateway.audit.service import encode, format_time, searchable_columns
from gateway.db.engine import make_engine
from tests.adversarial.conftest import (
    ABH,
    AMIRA,
    DPO,
    JC,
    OLEKSII,
    RESIDENCE,
    City,
    consent_body,
)
from tests.audit.tampering import EMPTY, query, tamper
from tests.keys.operator import Command, command_line

# How the operator empties an entry: the shape of change the old prune trigger let through.


@pytest.fixture
def operator(city: City, tmp_path: Path) -> Command:
    """``gateway ARGS...`` run beside the live gateway: its database and its key folder."""
    return command_line(city.runtime.settings, tmp_path / "operator")


def released(city: City, person: dict[str, str] = AMIRA, **headers: str) -> dict[str, Any]:
    """A consented query of the job centre for the person's residence status, answered."""
    city.recorded(JC, {JC: person[JC], ABH: person[ABH]}, RESIDENCE)
    response = city.ask(JC, ABH, person[JC], **headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]["residence_status"]
    return data


def placed(city: City, event: str = "exchange.decided") -> list[tuple[int, int]]:
    """(position, entry id) of the event's entries already placed in the tree."""
    rows = query(
        city.runtime.settings.database_url,
        "SELECT l.seq, e.id FROM audit_entries e JOIN audit_leaves l ON l.entry_id = e.id"
        " WHERE e.event = :event ORDER BY l.seq",
        event=event,
    )
    return [(int(seq), int(entry_id)) for seq, entry_id in rows]


def succeeded(result: Any) -> str:
    assert result.exception is None, result.output
    assert result.exit_code == 0, result.output
    return str(result.output)


def exported(city: City, folder: Path, export_format: str = "jsonl") -> Path:
    """What a DPO tool downloads: the export, and the log's public key beside it."""
    response = city.get(DPO, "/v1/audit/export", format=export_format)
    assert response.status_code == 200, response.text
    folder.mkdir(exist_ok=True)
    (folder / "log.vkey").write_text(city.get(DPO, "/v1/audit/key").text)
    path = folder / f"audit.{export_format}"
    path.write_text(response.text)
    return path


def verify_export(operator: Command, export: Path) -> Any:
    return operator(
        "audit", "verify", "--export", str(export), "--public-key", str(export.parent / "log.vkey")
    )


# -- 1. erasing entries ------------------------------------------------------------------------


def test_the_database_refuses_to_empty_an_entry_that_no_recorded_pruning_covers(
    city: City, operator: Command
):
    released(city)
    succeeded(operator("audit", "checkpoint"))
    ((_, entry_id),) = placed(city)
    engine = make_engine(city.runtime.settings.database_url)
    try:
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(text(EMPTY), {"id": entry_id})
    finally:
        engine.dispose()
    assert city.audit("exchange.decided")[0] is not None


def test_an_entry_emptied_behind_the_triggers_back_is_named_by_verify(
    city: City, operator: Command, tmp_path: Path
):
    released(city)
    succeeded(operator("audit", "checkpoint"))
    ((position, entry_id),) = placed(city)
    tamper(city.runtime.settings.database_url, EMPTY, id=entry_id)

    from_database = operator("audit", "verify")
    assert from_database.exit_code == 1, from_database.output
    assert f"first bad entry: position {position}" in from_database.output
    assert "no recorded pruning" in from_database.output

    # A DPO who only holds an export and the public key sees the same.
    from_export = verify_export(operator, exported(city, tmp_path / "dpo"))
    assert from_export.exit_code == 1, from_export.output
    assert f"first bad entry: position {position}" in from_export.output


def test_emptying_an_entry_before_it_is_placed_does_not_stop_the_log(city: City, operator: Command):
    released(city)  # its entries wait for the sequencer: no publisher runs in this gateway
    ((waiting,),) = query(
        city.runtime.settings.database_url,
        "SELECT e.id FROM audit_entries e JOIN audit_pending p ON p.entry_id = e.id"
        " WHERE e.event = 'exchange.decided'",
    )
    tamper(city.runtime.settings.database_url, EMPTY, id=waiting)

    succeeded(operator("audit", "checkpoint"))
    released(city, OLEKSII)  # later entries are still placed and signed
    note = succeeded(operator("audit", "checkpoint"))
    leaves = query(city.runtime.settings.database_url, "SELECT seq FROM audit_leaves")
    assert int(note.splitlines()[1]) == len(leaves)
    assert len(placed(city)) == 1  # Oleksii's decision; the emptied one has no place

    (set_aside,) = city.audit(EventType.AUDIT_ENTRY_SET_ASIDE.value)
    assert set_aside is not None
    assert set_aside["details"]["entry_id"] == waiting
    verified = operator("audit", "verify")
    assert verified.exit_code == 1, verified.output
    assert f"entry id {waiting} is not part of the log" in verified.output


def forged_licence(city: City) -> None:
    """What an operator with database access writes to make erasure look licensed: a record
    of pruning covering every position, signed with a key they made themselves."""
    moment = datetime.now(UTC)
    body = {
        "v": 2,
        "time": format_time(moment),
        "event": EventType.AUDIT_PRUNED.value,
        "actor": OPERATOR,
        "details": {
            "below_position": 10**9,
            "recorded_before": format_time(moment),
            "entries": 1,
            "signature": base64.b64encode(b"\x00" * 68).decode(),
        },
    }
    with city.runtime.database.transaction() as session:
        repository.append(
            session, {"recorded_at": moment, "body": encode(body), **searchable_columns(body)}
        )


def test_a_forged_record_of_pruning_licenses_no_erasure(city: City, operator: Command):
    released(city)
    forged_licence(city)
    succeeded(operator("audit", "checkpoint"))  # the gateway places it like any entry
    ((position, entry_id),) = placed(city)
    ((forged_at, _),) = placed(city, EventType.AUDIT_PRUNED.value)
    tamper(city.runtime.settings.database_url, EMPTY, id=entry_id)

    verified = operator("audit", "verify")
    assert verified.exit_code == 1, verified.output
    assert f"first bad entry: position {position}" in verified.output
    assert f"position {forged_at}" in verified.output  # the forgery itself is named


class _Later(datetime):
    """The operator's clock, 400 days on: everything the city recorded so far is old."""

    @classmethod
    def now(cls, tz: Any = None) -> _Later:
        moment = datetime.now(tz) + timedelta(days=400)
        return cls.fromtimestamp(moment.timestamp(), tz)


def test_retention_prunes_visibly_and_licenses_nothing_younger(
    city: City, operator: Command, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    released(city)
    with monkeypatch.context() as later:
        later.setattr("gateway.audit.cli.datetime", _Later)
        output = succeeded(operator("audit", "prune", "--older-than-days", "365"))
    pruned = int(re.search(r"pruned (\d+) entries", output).group(1))  # type: ignore[union-attr]
    assert pruned >= 3  # the offices' registration, the consent, the decision
    assert [body for body in city.audit("exchange.decided")] == [None]
    assert succeeded(operator("audit", "verify")).startswith("intact:")
    assert verify_export(operator, exported(city, tmp_path / "before")).exit_code == 0
    (licence,) = city.audit(EventType.AUDIT_PRUNED.value)
    assert licence is not None
    assert licence["details"]["entries"] == pruned

    # A younger decision; the operator empties it, hoping the recorded pruning covers it.
    released(city, OLEKSII)
    succeeded(operator("audit", "checkpoint"))
    ((position, entry_id),) = query(
        city.runtime.settings.database_url,
        "SELECT l.seq, e.id FROM audit_entries e JOIN audit_leaves l ON l.entry_id = e.id"
        " WHERE e.event = 'exchange.decided' AND e.body IS NOT NULL",
    )
    tamper(city.runtime.settings.database_url, EMPTY, id=entry_id)
    verified = operator("audit", "verify")
    assert verified.exit_code == 1, verified.output
    assert f"first bad entry: position {position}" in verified.output
    from_export = verify_export(operator, exported(city, tmp_path / "after"))
    assert from_export.exit_code == 1, from_export.output


# -- 2. recovering released data and linking persons -------------------------------------------


def digests_in(line: str) -> set[str]:
    return set(re.findall(r"[0-9a-f]{64}", line))


def guesses() -> Iterator[dict[str, Any]]:
    """Every residence status a DPO tool could try, the released one among them."""
    titles = ["residence_permit", "settlement_permit", "eu_blue_card", "toleration",
              "permission_to_reside_asylum", "arrival_certificate", "fictional_certificate",
              "none"]  # fmt: skip
    days = [f"2027-02-{day:02d}" for day in range(24, 29)] + ["2027-03-01"]
    for title, until, work, obligation in itertools.product(
        titles, days, ["yes", "with_permission", "no"], [None, "koeln", "bonn"]
    ):
        yield {"title": title, "valid_until": until, "employment_permitted": work,
               "residence_obligation": obligation}  # fmt: skip


def hashes_of(document: dict[str, Any]) -> set[str]:
    """SHA-256 of the ways a JSON document is commonly written."""
    forms = [
        json.dumps(document, sort_keys=True),
        json.dumps(document, sort_keys=True, separators=(",", ":")),
        json.dumps(document),
        rfc8785.dumps(document).decode(),
    ]
    return {hashlib.sha256(form.encode()).hexdigest() for form in forms}


def exported_decisions(city: City) -> list[tuple[dict[str, Any], str]]:
    """The permitted decisions in a DPO's JSONL export: (entry, its export line)."""
    response = city.get(DPO, "/v1/audit/export", format="jsonl")
    assert response.status_code == 200, response.text
    found = []
    for line in response.text.splitlines():
        entry = json.loads(line).get("entry")
        if entry and entry["event"] == "exchange.decided" and entry.get("decision") == "permit":
            found.append((entry, line))
    return found


def test_the_released_document_cannot_be_found_by_hashing_guesses(city: City, operator):
    document = released(city)
    tried = list(guesses())
    assert document in tried  # the search below covers the truth
    succeeded(operator("audit", "checkpoint"))
    ((entry, line),) = exported_decisions(city)
    in_export = digests_in(line)
    assert not [guess for guess in tried if hashes_of(guess) & in_export]
    assert entry.get("payload_hmac"), "the entry still says that a payload was released"


def test_equal_documents_of_two_persons_do_not_link_their_entries(city: City, operator):
    assert released(city, AMIRA) == released(city, OLEKSII)  # the same residence status
    succeeded(operator("audit", "checkpoint"))
    amira, oleksii = (entry for entry, _ in exported_decisions(city))
    assert amira["subject"] != oleksii["subject"]

    def digest(entry: dict[str, Any]) -> str:
        return str(entry.get("payload_hmac") or entry.get("payload_sha256"))

    assert digest(amira).split(":")[-1] != digest(oleksii).split(":")[-1]


CASEWORKER = "cw-mueller-0417"


def test_a_caseworker_id_appears_nowhere_in_the_audit(city: City, operator, tmp_path: Path):
    released(city, AMIRA, **{"X-Caseworker": CASEWORKER})
    again = city.ask(JC, ABH, AMIRA[JC], **{"X-Caseworker": CASEWORKER})
    assert again.status_code == 200, again.text
    # The same id at the foreigners' office, recording another person's consent.
    references = {JC: OLEKSII[JC], ABH: OLEKSII[ABH]}
    answer = city.post(
        ABH, "/v1/consents", consent_body(references, RESIDENCE), **{"X-Caseworker": CASEWORKER}
    )
    assert answer.status_code == 201, answer.text
    succeeded(operator("audit", "checkpoint"))

    rows = query(city.runtime.settings.database_url, "SELECT * FROM audit_entries")
    assert rows
    assert not [row for row in rows if CASEWORKER in str(row)]
    for export_format in ("jsonl", "csv"):
        assert CASEWORKER not in exported(city, tmp_path, export_format).read_text()
    report = city.get(DPO, "/v1/audit/access-report", agency=JC, subject_ref=AMIRA[JC])
    assert report.status_code == 200, report.text
    assert CASEWORKER not in report.text

    # Keyed per acting agency: the same id at two agencies does not link, but within one
    # agency it stays one pseudonym, so a caseworker's actions can still be followed.
    by_agency: dict[str, list[str]] = {}
    for body in city.audit():
        if body and body.get("caseworker"):
            by_agency.setdefault(body["actor"], []).append(body["caseworker"])
    assert set(by_agency) == {JC, ABH}
    assert len(by_agency[JC]) == 2
    assert len(set(by_agency[JC])) == 1
    assert set(by_agency[JC]).isdisjoint(by_agency[ABH])


# -- 3. the API's access report leaves a trace -------------------------------------------------


def test_a_dpo_looking_through_the_api_shows_in_the_persons_next_report(city: City):
    released(city)
    first = city.get(DPO, "/v1/audit/access-report", agency=JC, subject_ref=AMIRA[JC])
    assert first.status_code == 200, first.text
    assert "dpo.access_report" not in [record["event"] for record in first.json()["records"]]

    second = city.get(DPO, "/v1/audit/access-report", agency=ABH, subject_ref=AMIRA[ABH])
    assert second.status_code == 200, second.text
    looks = [r for r in second.json()["records"] if r["event"] == "dpo.access_report"]
    assert len(looks) == 1
    recorded = [body for body in city.audit("dpo.access_report") if body]
    assert [looked["actor"] for looked in recorded] == [DPO, DPO]  # both looks
    assert recorded[0]["subject"] == recorded[1]["subject"]  # at one person, by two references
    assert AMIRA[JC] not in json.dumps(recorded)
