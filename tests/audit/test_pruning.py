"""An entry loses its content only under a record of pruning the log holds (issue 16): the
database refuses anything else, verification names every entry emptied without one, and
retention records and places its record before it empties anything, reaching only as far as
entries are really old."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from gateway.audit import repository, retention
from gateway.audit.events import OPERATOR, AuditEvent, Decision, EventType
from gateway.audit.notes import Signer
from gateway.audit.pruning import licence_details
from gateway.audit.retention import prune
from gateway.audit.service import format_time
from gateway.audit.verify import Report, verify_export, verify_stored
from gateway.db.engine import make_engine
from gateway.db.migrate import downgrade, upgrade
from gateway.runtime import Runtime
from tests.audit.tampering import query, tamper
from tests.support import fresh_database

EMPTY = (
    "UPDATE audit_entries SET actor = NULL, requester = NULL, provider = NULL, decision = NULL,"
    " reason = NULL, purpose = NULL, categories = NULL, subject = NULL, body = NULL"
)
NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=400)


def decision(number: int) -> AuditEvent:
    return AuditEvent(
        EventType.EXCHANGE_DECIDED,
        actor="koeln-jobcenter",
        requester="koeln-jobcenter",
        provider="koeln-auslaenderbehoerde",
        subject_id=f"subject-{number}",
        categories=("residence_status",),
        purpose="case_management",
        decision=Decision.DENY,
        reason="no_consent",
        request_id=f"r{number}",
    )


def record(runtime: Runtime, numbers: range, moment: datetime | None = None) -> None:
    with runtime.database.transaction() as session:
        for number in numbers:
            runtime.audit.record(session, decision(number), now=moment)


def publish(runtime: Runtime) -> int:
    return runtime.audit.publish(runtime.database).size


def licence(
    runtime: Runtime,
    below: int,
    before: datetime = NOW + timedelta(days=1),
    *,
    placed: bool = True,
    signer: Signer | None = None,
    **changes: Any,
) -> None:
    """A record of pruning as retention writes it (or, with ``signer``, as a forger would)."""
    details = licence_details(signer or runtime.audit.signer, below, format_time(before), 0)
    with runtime.database.transaction() as session:
        runtime.audit.record(
            session,
            AuditEvent(EventType.AUDIT_PRUNED, actor=OPERATOR, details=details | changes),
        )
    if placed:
        publish(runtime)


def legacy_record(runtime: Runtime) -> None:
    """A record of pruning as versions before licences wrote it (after pruning): no position,
    no signature."""
    with runtime.database.transaction() as session:
        runtime.audit.record(
            session,
            AuditEvent(
                EventType.AUDIT_PRUNED,
                actor=OPERATOR,
                details={"entries": 2, "recorded_before": format_time(NOW)},
            ),
        )
    publish(runtime)


def entry_at(runtime: Runtime, position: int) -> int:
    ((entry_id,),) = query(
        runtime.settings.database_url,
        "SELECT entry_id FROM audit_leaves WHERE seq = :p",
        p=position,
    )
    return int(entry_id)


def empty(runtime: Runtime, *entry_ids: int) -> None:
    """Empty entries as the database lets the gateway (the triggers in place)."""
    with runtime.database.transaction() as session:
        session.execute(text(EMPTY + " WHERE id IN (" + ", ".join(map(str, entry_ids)) + ")"))


def empty_around_the_triggers(runtime: Runtime, *entry_ids: int) -> None:
    for entry_id in entry_ids:
        tamper(runtime.settings.database_url, EMPTY + " WHERE id = :id", id=entry_id)


def bodies(runtime: Runtime) -> list[str | None]:
    rows = query(runtime.settings.database_url, "SELECT body FROM audit_entries ORDER BY id")
    return [body for (body,) in rows]


def check(runtime: Runtime) -> Report:
    with runtime.database.transaction(read_only=True) as session:
        return verify_stored(session, runtime.audit.verifier)


# -- the database refuses what no placed record covers ----------------------------------------


def test_the_database_lets_a_placed_record_of_pruning_empty_what_it_covers(runtime: Runtime):
    record(runtime, range(3), LONG_AGO)
    publish(runtime)
    licence(runtime, below=2)
    empty(runtime, entry_at(runtime, 0), entry_at(runtime, 1))
    assert bodies(runtime)[:3] == [None, None, bodies(runtime)[2]]
    assert bodies(runtime)[2] is not None


@pytest.mark.parametrize(
    "record_of_pruning",
    [
        lambda runtime: None,  # none at all
        lambda runtime: licence(runtime, below=3, placed=False),  # recorded, not yet placed
        lambda runtime: legacy_record(runtime),  # of the kind written before licences
    ],
    ids=["none", "not-placed", "names-no-position"],
)
def test_the_database_refuses_to_empty_without_a_placed_record_of_pruning(
    runtime: Runtime, record_of_pruning: Callable[[Runtime], None]
):
    record(runtime, range(3), LONG_AGO)
    publish(runtime)
    record_of_pruning(runtime)
    with pytest.raises(DatabaseError, match="append-only"):
        empty(runtime, entry_at(runtime, 0))
    assert None not in bodies(runtime)


def test_the_database_refuses_what_the_record_does_not_cover(runtime: Runtime):
    record(runtime, range(2), LONG_AGO)
    record(runtime, range(2, 3))  # young
    record(runtime, range(3, 4), LONG_AGO)
    publish(runtime)
    licence(runtime, below=3, before=NOW - timedelta(days=30))  # placed at position 4
    record(runtime, range(4, 5), LONG_AGO)
    publish(runtime)
    uncovered = {
        "recorded after the cut-off": entry_at(runtime, 2),
        "at the position named": entry_at(runtime, 3),
        "the record of pruning itself": entry_at(runtime, 4),
        "after the position named": entry_at(runtime, 5),
    }
    for what, entry_id in uncovered.items():
        with pytest.raises(DatabaseError, match="append-only"):
            empty(runtime, entry_id)
        assert None not in bodies(runtime), what
    empty(runtime, entry_at(runtime, 0), entry_at(runtime, 1))
    assert [body is None for body in bodies(runtime)] == [True, True] + [False] * 4


def test_the_database_refuses_to_empty_an_entry_not_yet_placed(runtime: Runtime):
    record(runtime, range(2), LONG_AGO)
    publish(runtime)
    licence(runtime, below=2)
    record(runtime, range(2, 3), LONG_AGO)  # waits for its place
    ((waiting,),) = query(runtime.settings.database_url, "SELECT entry_id FROM audit_pending")
    with pytest.raises(DatabaseError, match="append-only"):
        empty(runtime, waiting)
    assert None not in bodies(runtime)


def test_one_uncovered_row_refuses_the_whole_statement(runtime: Runtime):
    record(runtime, range(3), LONG_AGO)
    publish(runtime)
    licence(runtime, below=2)
    with pytest.raises(DatabaseError, match="append-only"):
        empty(runtime, entry_at(runtime, 0), entry_at(runtime, 2))
    assert None not in bodies(runtime)


def test_migration_0011_goes_down_to_the_old_trigger_and_up_again():
    """Down: any entry may be emptied again, as 0002 allowed; up: only a licensed one."""
    with fresh_database(os.environ.get("GATEWAY_TEST_DATABASE_URL"), "migration") as url:
        engine = make_engine(url)

        def try_to_empty(entry_id: int) -> None:
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO audit_entries (id, recorded_at, event, body) VALUES"
                        " (:id, CURRENT_TIMESTAMP, 'exchange.decided', '{}')"
                    ),
                    {"id": entry_id},
                )
            with engine.begin() as connection:
                connection.execute(text(EMPTY + " WHERE id = :id"), {"id": entry_id})

        try:
            with pytest.raises(DatabaseError, match="append-only"):
                try_to_empty(1)
            downgrade(url, "0010")
            try_to_empty(2)  # the old trigger lets it through
            upgrade(url)
            with pytest.raises(DatabaseError, match="append-only"):
                try_to_empty(3)
        finally:
            engine.dispose()


# -- verification ------------------------------------------------------------------------------


def test_entries_pruned_under_a_record_of_pruning_verify(runtime: Runtime):
    record(runtime, range(5), LONG_AGO)
    assert prune(runtime.audit, runtime.database, NOW - timedelta(days=30)) == 5
    report = check(runtime)
    assert report.intact, report.problems
    assert report.pruned == 5
    assert report.notes == [
        "5 entries below position 5 were pruned under the record of pruning at position 5 "
        f"(recorded before {format_time((NOW - timedelta(days=30)).replace(microsecond=0))});"
        " their leaf hashes were checked"
    ]


def test_entries_emptied_without_a_record_are_named_first_and_counted(runtime: Runtime):
    record(runtime, range(6), LONG_AGO)
    publish(runtime)
    empty_around_the_triggers(runtime, entry_at(runtime, 2), entry_at(runtime, 4))
    report = check(runtime)
    assert report.problems == [
        "first bad entry: position 2 lost its content, and no recorded pruning covers it "
        "(emptied from outside)",
        "2 entries in all lost their content without a recorded pruning that covers them",
    ]


def test_an_entry_emptied_beyond_the_records_reach_is_named(runtime: Runtime):
    record(runtime, range(4), LONG_AGO)
    assert prune(runtime.audit, runtime.database, NOW - timedelta(days=30)) == 4
    record(runtime, range(4, 6))
    publish(runtime)
    empty_around_the_triggers(runtime, entry_at(runtime, 6))
    report = check(runtime)
    assert report.pruned == 4
    assert report.problems[0].startswith("first bad entry: position 6 lost its content")


def test_a_record_of_pruning_that_was_emptied_is_named(runtime: Runtime):
    record(runtime, range(2), LONG_AGO)
    prune(runtime.audit, runtime.database, NOW - timedelta(days=30))
    licence(runtime, below=3)  # a second record (position 3) reaching over the first (2)
    empty_around_the_triggers(runtime, entry_at(runtime, 2))
    report = check(runtime)
    assert report.problems == [
        "first bad entry: position 2 is a record of pruning and lost its content (records of "
        "pruning are never pruned)"
    ]


@pytest.mark.parametrize(
    ("forgery", "reason"),
    [
        ({"signer": "stranger"}, "is not signed by the log's key"),
        ({"below": 99}, "names positions it cannot cover"),
        ({"below_position": "everything"}, "is malformed"),
    ],
)
def test_a_forged_record_of_pruning_licenses_nothing_and_is_named(
    runtime: Runtime, forgery: dict[str, Any], reason: str
):
    record(runtime, range(3), LONG_AGO)
    publish(runtime)
    stranger = Signer(runtime.audit.signer.name, Ed25519PrivateKey.generate())
    below = forgery.pop("below", 3)
    signer = stranger if forgery.pop("signer", None) else None
    licence(runtime, below=below, signer=signer, **forgery)
    empty_around_the_triggers(runtime, entry_at(runtime, 0))
    report = check(runtime)
    assert report.problems == [
        "first bad entry: position 0 lost its content, and no recorded pruning covers it "
        "(emptied from outside)",
        f"position 3 is a record of pruning that {reason}: it licenses nothing (forged)",
    ]


def test_entries_pruned_before_licences_are_covered_by_the_next_pruning(runtime: Runtime):
    """An upgraded log: entries pruned the old way, under a record naming no position. They
    show as emptied (the old record licenses nothing, but is not called forged) until the
    next pruning records a licence over them."""
    record(runtime, range(2), LONG_AGO)
    record(runtime, range(2, 3))
    publish(runtime)
    empty_around_the_triggers(runtime, entry_at(runtime, 0), entry_at(runtime, 1))
    legacy_record(runtime)
    assert check(runtime).problems == [
        "first bad entry: position 0 lost its content, and no recorded pruning covers it "
        "(emptied from outside)",
        "2 entries in all lost their content without a recorded pruning that covers them",
    ]
    assert prune(runtime.audit, runtime.database, NOW - timedelta(days=30)) == 0
    report = check(runtime)
    assert report.intact, report.problems
    assert report.pruned == 2
    assert report.licence is not None
    assert report.licence.below == 2


def export_of(runtime: Runtime, **criteria: Any) -> list[str]:
    from gateway.audit.query import EntryFilter
    from gateway.audit.reports import export_lines

    return list(export_lines(runtime.database, "jsonl", EntryFilter(**criteria)))


def test_an_export_tells_pruned_from_left_out_from_emptied(runtime: Runtime):
    record(runtime, range(3), LONG_AGO)
    prune(runtime.audit, runtime.database, NOW - timedelta(days=30))
    record(runtime, range(3, 6))
    publish(runtime)

    whole = export_of(runtime)
    report = verify_export(lambda: iter(whole), runtime.audit.verifier)
    assert report.intact, report.problems
    assert (report.pruned, report.omitted) == (3, 0)

    # Filtered to the young entries: the old ones are left out, the record stays whole.
    filtered = export_of(runtime, since=NOW - timedelta(days=1), event="exchange.decided")
    lines = [json.loads(line) for line in filtered]
    (kept,) = [line for line in lines if line.get("entry", {}) and
               line["entry"]["event"] == "audit.pruned"]  # fmt: skip
    assert "omitted" not in kept
    report = verify_export(lambda: iter(filtered), runtime.audit.verifier)
    assert report.intact, report.problems
    assert report.pruned == 0  # the pruned ones are outside the filter: left out
    assert report.omitted == 3
    assert "entries were left out of this export by its filter" in report.notes[-1]

    # An entry emptied in the export itself, not marked as left out: named.
    young = json.loads(whole[4])
    assert young["entry"]["request_id"] == "r3"
    young["entry"] = None
    tampered = [*whole[:4], json.dumps(young) + "\n", *whole[5:]]
    report = verify_export(lambda: iter(tampered), runtime.audit.verifier)
    assert report.problems[0].startswith("first bad entry: position 4 lost its content")


# -- retention ---------------------------------------------------------------------------------


def test_retention_places_its_record_before_it_empties_anything(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
):
    """A verification between any two steps of a pruning finds the log intact."""
    record(runtime, range(7), LONG_AGO)
    emptying = repository.empty
    seen: list[Report] = []

    def verified_first(session: Any, entry_ids: list[int]) -> int:
        seen.append(check(runtime))  # another transaction, as a DPO's verification would be
        return emptying(session, entry_ids)

    monkeypatch.setattr(repository, "empty", verified_first)
    monkeypatch.setattr(retention, "PRUNE_BATCH", 3)
    assert prune(runtime.audit, runtime.database, NOW - timedelta(days=30)) == 7
    assert [report.problems for report in seen] == [[], [], []]  # three batches
    assert seen[0].licence is not None
    assert seen[0].licence.below == 7
    assert [report.pruned for report in seen] == [0, 3, 6]
    assert check(runtime).pruned == 7


def test_retention_stops_at_the_first_younger_entry(runtime: Runtime):
    record(runtime, range(2), LONG_AGO)
    record(runtime, range(2, 3))  # young
    record(runtime, range(3, 4), LONG_AGO)  # old, but after a young one: it waits
    assert prune(runtime.audit, runtime.database, NOW - timedelta(days=30)) == 2
    assert [body is None for body in bodies(runtime)[:4]] == [True, True, False, False]
    (record_of_pruning,) = [
        json.loads(body) for body in bodies(runtime) if body and "audit.pruned" in body
    ]
    assert record_of_pruning["details"]["below_position"] == 2
    assert record_of_pruning["details"]["entries"] == 2
    assert check(runtime).intact


def test_retention_keeps_a_changed_entry_as_the_evidence(runtime: Runtime):
    record(runtime, range(3), LONG_AGO)
    publish(runtime)
    tamper(
        runtime.settings.database_url,
        "UPDATE audit_entries SET body = REPLACE(body, 'no_consent', 'no_policy') WHERE id = :id",
        id=entry_at(runtime, 1),
    )
    assert prune(runtime.audit, runtime.database, NOW - timedelta(days=30)) == 2
    assert bodies(runtime)[1] is not None
    assert check(runtime).problems[0] == (
        "first bad entry: position 1 was changed (it no longer hashes to its leaf)"
    )


def test_retention_goes_by_the_entrys_own_time_not_the_column_alone(runtime: Runtime):
    record(runtime, range(2), LONG_AGO)
    record(runtime, range(2, 3))  # young; its time column is then made to look old
    publish(runtime)
    tamper(
        runtime.settings.database_url,
        "UPDATE audit_entries SET recorded_at = '2001-01-01 00:00:00.000000' WHERE id = :id",
        id=entry_at(runtime, 2),
    )
    assert prune(runtime.audit, runtime.database, NOW - timedelta(days=30)) == 2
    assert bodies(runtime)[2] is not None


def test_a_later_pruning_goes_on_from_where_the_last_one_ended(runtime: Runtime):
    record(runtime, range(2), NOW - timedelta(days=60))
    record(runtime, range(2, 4), NOW - timedelta(days=10))
    assert prune(runtime.audit, runtime.database, NOW - timedelta(days=30)) == 2
    assert prune(runtime.audit, runtime.database, NOW - timedelta(days=30)) == 0  # nothing new
    assert prune(runtime.audit, runtime.database, NOW - timedelta(days=5)) == 2
    report = check(runtime)
    assert report.intact, report.problems
    assert report.pruned == 4
    records = [json.loads(body) for body in bodies(runtime) if body and "audit.pruned" in body]
    assert [r["details"]["below_position"] for r in records] == [2, 5]  # over the first record
