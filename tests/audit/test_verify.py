"""Verification detects and pinpoints every kind of tampering: a changed field, a deleted,
inserted or reordered entry, a log cut short or rolled back, a forged checkpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import example, given
from hypothesis import strategies as st

from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.audit.merkle import leaf_hash
from gateway.audit.service import encode, searchable_values
from gateway.audit.verify import (
    Report,
    _searchable,
    rows_from_export,
    verify_export,
    verify_stored,
)
from gateway.cli.main import cli
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.audit.tampering import query, tamper

ENTRIES = 12


@pytest.fixture
def log(runtime: Runtime) -> Runtime:
    """Twelve decisions, checkpointed after every fourth."""
    for batch in range(3):
        with runtime.database.transaction() as session:
            for n in range(4):
                number = batch * 4 + n
                runtime.audit.record(
                    session,
                    AuditEvent(
                        EventType.EXCHANGE_DECIDED,
                        requester="koeln-jobcenter",
                        provider="koeln-sozialamt",
                        categories=("benefit_status",),
                        purpose="benefit_entitlement",
                        decision=Decision.PERMIT if number % 3 else Decision.DENY,
                        reason=None if number % 3 else "no_consent",
                        request_id=f"req-{number:08d}",
                    ),
                )
        runtime.audit.publish(runtime.database)
    return runtime


def check(runtime: Runtime, kept: str | None = None) -> Report:
    with runtime.database.transaction(read_only=True) as session:
        return verify_stored(session, runtime.audit.verifier, kept=kept)


def entry_id_at(runtime: Runtime, position: int) -> int:
    ((entry_id,),) = query(
        runtime.settings.database_url,
        "SELECT entry_id FROM audit_leaves WHERE seq = :p",
        p=position,
    )
    return int(entry_id)


def latest_note(runtime: Runtime) -> str:
    ((note,),) = query(
        runtime.settings.database_url,
        "SELECT note FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
    )
    return str(note)


def test_an_intact_log_verifies(log: Runtime):
    report = check(log)
    assert report.intact, report.problems
    assert report.size == ENTRIES
    assert report.checkpoints_checked == 3


def test_a_changed_field_is_detected_and_pinpointed(log: Runtime):
    entry = entry_id_at(log, 5)
    tamper(
        log.settings.database_url,
        "UPDATE audit_entries SET body = REPLACE(body, '\"permit\"', '\"deny\"'), "
        "decision = 'deny' WHERE id = :id",
        id=entry,
    )
    report = check(log)
    assert not report.intact
    assert report.problems[0].startswith("first bad entry: position 5 was changed")


def test_a_changed_search_column_is_detected(log: Runtime):
    tamper(
        log.settings.database_url,
        "UPDATE audit_entries SET requester = 'koeln-jugendamt' WHERE id = :id",
        id=entry_id_at(log, 3),
    )
    report = check(log)
    assert report.problems[0].startswith("first bad entry: position 3 was changed")
    assert "'requester'" in report.problems[0]


def test_a_deleted_entry_is_detected_and_pinpointed(log: Runtime):
    tamper(
        log.settings.database_url,
        "DELETE FROM audit_entries WHERE id = :id",
        id=entry_id_at(log, 7),
    )
    assert check(log).problems[0] == (
        f"first bad entry: position 7 (entry id {entry_id_at(log, 7)}) was deleted"
    )


def test_an_entry_deleted_with_its_leaf_is_detected(log: Runtime):
    entry = entry_id_at(log, 4)
    tamper(
        log.settings.database_url,
        "DELETE FROM audit_leaves WHERE seq = 4",
        "DELETE FROM audit_entries WHERE id = :id",
        id=entry,
    )
    assert check(log).problems[0].startswith("first bad entry: position 4 is missing")


def test_an_entry_inserted_beside_the_log_is_detected(log: Runtime):
    body = encode({"v": 1, "time": "2026-01-01T00:00:00.000000Z", "event": "exchange.decided"})
    tamper(
        log.settings.database_url,
        "INSERT INTO audit_entries (recorded_at, event, body) VALUES (:t, 'exchange.decided', :b)",
        t="2026-01-01 00:00:00+00:00",
        b=body,
    )
    assert any("is not part of the log" in problem for problem in check(log).problems)


def test_an_entry_inserted_into_the_tree_is_detected(log: Runtime):
    """The attacker shifts later leaves up and slips a consistent new leaf in at position 6."""
    body = encode({"v": 1, "time": "2026-01-01T00:00:00.000000Z", "event": "exchange.decided"})
    url = log.settings.database_url
    tamper(
        url,
        "UPDATE audit_leaves SET seq = seq + 1000 WHERE seq >= 6",
        "UPDATE audit_leaves SET seq = seq - 999 WHERE seq >= 1000",
        "INSERT INTO audit_entries (id, recorded_at, event, body) "
        "VALUES (9999, :t, 'exchange.decided', :b)",
        "INSERT INTO audit_leaves (seq, entry_id, leaf_hash) VALUES (6, 9999, :h)",
        t="2026-01-01 00:00:00+00:00",
        b=body,
        h=leaf_hash(body.encode()),
    )
    report = check(log)
    assert not report.intact
    assert report.problems[0].startswith("first bad entry: between position 4 and 7")


def test_two_swapped_entries_are_detected_and_pinpointed(log: Runtime):
    first, second = entry_id_at(log, 2), entry_id_at(log, 9)
    url = log.settings.database_url
    ((first_body,),) = query(url, "SELECT body FROM audit_entries WHERE id = :id", id=first)
    ((second_body,),) = query(url, "SELECT body FROM audit_entries WHERE id = :id", id=second)
    tamper(
        url,
        "UPDATE audit_entries SET body = :b WHERE id = :id",
        id=first,
        b=second_body,
    )
    tamper(url, "UPDATE audit_entries SET body = :b WHERE id = :id", id=second, b=first_body)
    assert check(log).problems[0].startswith("first bad entry: position 2 was changed")


def test_reordered_leaves_are_detected(log: Runtime):
    """The attacker swaps two positions whole, leaf hashes included."""
    url = log.settings.database_url
    tamper(
        url,
        "UPDATE audit_leaves SET seq = 1000 WHERE seq = 9",
        "UPDATE audit_leaves SET seq = 9 WHERE seq = 10",
        "UPDATE audit_leaves SET seq = 10 WHERE seq = 1000",
    )
    report = check(log)
    assert report.problems[0].startswith("first bad entry: between position 8 and 11")


def test_dropping_the_newest_entries_is_detected_by_the_stored_checkpoints(log: Runtime):
    url = log.settings.database_url
    tamper(
        url,
        "DELETE FROM audit_entries WHERE id IN (SELECT entry_id FROM audit_leaves WHERE seq >= 9)",
        "DELETE FROM audit_leaves WHERE seq >= 9",
    )
    report = check(log)
    assert report.problems == [
        "the log was cut short or rolled back: the checkpoint signed for size 12 covers 12 "
        "entries, the log holds 9"
    ]


def test_a_kept_checkpoint_catches_truncation_the_database_no_longer_shows(log: Runtime):
    kept = latest_note(log)
    url = log.settings.database_url
    tamper(
        url,
        "DELETE FROM audit_entries WHERE id IN (SELECT entry_id FROM audit_leaves WHERE seq >= 9)",
        "DELETE FROM audit_leaves WHERE seq >= 9",
        "DELETE FROM audit_checkpoints WHERE size > 8",
    )
    assert check(log).intact  # the database alone looks consistent ...
    report = check(log, kept=kept)  # ... the DPO's own copy of a checkpoint does not agree
    assert report.problems == [
        "the log was cut short or rolled back: the checkpoint you kept covers 12 entries, "
        "the log holds 9"
    ]


def test_a_kept_checkpoint_catches_a_rewritten_history(log: Runtime):
    """Even a rewrite that keeps the size and every stored hash consistent is caught."""
    kept = latest_note(log)
    url = log.settings.database_url
    entry = entry_id_at(log, 1)
    ((body,),) = query(url, "SELECT body FROM audit_entries WHERE id = :id", id=entry)
    forged = body.replace('"permit"', '"deny"')
    tamper(
        url,
        "UPDATE audit_entries SET body = :b, decision = 'deny' WHERE id = :id",
        "UPDATE audit_leaves SET leaf_hash = :h WHERE seq = 1",
        "DELETE FROM audit_checkpoints",
        id=entry,
        b=forged,
        h=leaf_hash(forged.encode()),
    )
    report = check(log, kept=kept)
    assert not report.intact
    assert "the checkpoint you kept" in report.problems[0]


def test_a_forged_checkpoint_is_detected(log: Runtime):
    url = log.settings.database_url
    tamper(
        url,
        "UPDATE audit_checkpoints SET note = REPLACE(note, :old, :new) WHERE size = 8",
        old="\n8\n",
        new="\n9\n",
    )
    assert "does not verify" in check(log).problems[0]


def test_a_pruned_entry_still_verifies_by_its_leaf_hash(log: Runtime):
    from datetime import UTC, datetime, timedelta

    from gateway.audit.retention import prune

    assert prune(log.audit, log.database, datetime.now(UTC) + timedelta(days=1)) == ENTRIES
    report = check(log)
    assert report.intact, report.problems
    assert report.pruned == ENTRIES


def run_verify(settings: Settings, *args: str):
    env = {"GATEWAY_DATABASE_URL": settings.database_url, "GATEWAY_KEY_DIR": str(settings.key_dir)}
    return CliRunner(env=env).invoke(cli, ["audit", "verify", *args])


def test_the_cli_exits_0_on_an_intact_log(log: Runtime, settings: Settings):
    result = run_verify(settings)
    assert result.exit_code == 0, result.output
    assert f"intact: {ENTRIES} entries, 3 checkpoints verified" in result.output


def test_the_cli_exits_1_naming_the_first_bad_entry(log: Runtime, settings: Settings):
    tamper(
        log.settings.database_url,
        "DELETE FROM audit_entries WHERE id = :id",
        id=entry_id_at(log, 6),
    )
    result = run_verify(settings)
    assert result.exit_code == 1
    assert "first bad entry: position 6" in result.output


def test_the_cli_verifies_an_export_with_the_public_key_alone(
    log: Runtime, settings: Settings, tmp_path
):
    exported = CliRunner(
        env={
            "GATEWAY_DATABASE_URL": settings.database_url,
            "GATEWAY_KEY_DIR": str(settings.key_dir),
        }
    ).invoke(cli, ["audit", "export", "--format", "jsonl"])
    assert exported.exit_code == 0, exported.output
    export_file = tmp_path / "audit.jsonl"
    export_file.write_text(exported.output)
    vkey = tmp_path / "log.vkey"
    vkey.write_text(log.audit.verifier.vkey())
    # No key folder and no database: only the export and the public key.
    alone = {"GATEWAY_KEY_DIR": str(tmp_path / "nothing-here"), "GATEWAY_DATABASE_URL": "sqlite://"}
    result = CliRunner(env=alone).invoke(
        cli, ["audit", "verify", "--export", str(export_file), "--public-key", str(vkey)]
    )
    assert result.exit_code == 0, result.output

    lines = export_file.read_text().splitlines()
    record = json.loads(lines[3])
    record["entry"]["decision"] = "permit" if record["entry"]["decision"] == "deny" else "deny"
    lines[3] = json.dumps(record)
    export_file.write_text("\n".join(lines) + "\n")
    result = CliRunner(env=alone).invoke(
        cli, ["audit", "verify", "--export", str(export_file), "--public-key", str(vkey)]
    )
    assert result.exit_code == 1
    assert "first bad entry: position 3 was changed" in result.output


def test_a_filtered_export_still_verifies_and_shows_only_what_matches(
    log: Runtime, settings: Settings, tmp_path
):
    env = {"GATEWAY_DATABASE_URL": settings.database_url, "GATEWAY_KEY_DIR": str(settings.key_dir)}
    exported = CliRunner(env=env).invoke(
        cli, ["audit", "export", "--format", "jsonl", "--since", "2999-01-01"]
    )
    lines = [json.loads(line) for line in exported.output.splitlines()]
    assert all(line.get("omitted") and line["entry"] is None for line in lines[:-1])
    assert len(lines) == ENTRIES + 1
    report = verify_export(lambda: iter(exported.output.splitlines()), log.audit.verifier)
    assert report.intact, report.problems
    assert (report.omitted, report.pruned) == (ENTRIES, 0)  # left out is not pruned


def test_an_unreadable_export_is_refused_clearly(tmp_path, log: Runtime):
    lines = ['{"checkpoint": "not one"}', '{"seq": 0}', "[]"]
    with pytest.raises(ValueError, match="line 2"):
        verify_export(lambda: iter(lines), log.audit.verifier)
    with pytest.raises(ValueError, match="line 2"):  # blank lines count
        list(rows_from_export(["", lines[2]]))


def _outcome(read: Callable[[str], Any], text: str) -> tuple[str, Any]:
    try:
        return "value", repr(read(text))
    except ValueError:
        return "not JSON", None
    except (TypeError, KeyError, AttributeError) as wrong:
        return "not an entry", type(wrong)


def _slow(text: str) -> tuple[Any, ...]:
    return searchable_values(json.loads(text))


_values = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_entries = st.fixed_dictionaries(
    {"event": _values},
    optional={
        name: _values | st.lists(_values)
        for name in ("actor", "requester", "provider", "categories", "subject", "details")
    },
)


@given(
    st.one_of(
        st.recursive(
            _values, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)
        ).map(lambda value: json.dumps(value, ensure_ascii=False)),
        _entries.map(json.dumps),
        _entries.map(lambda entry: json.dumps(entry, ensure_ascii=False)),
        st.text(alphabet=' \t\n\ufeff{}[]":,0123456789.eE+-truefalsnNI\\u'),
    ),
    st.sampled_from(["", " ", "\n", "x", "}", "\ufeff"]),
    st.sampled_from(["", " ", "\n", "\ufeff"]),
)
@example('{"event": "x", "actor": 99999999999999999999}', "", "")  # beyond 64 bits
@example('{"event": NaN}', "", "")
@example('{"event": "\\ud800"}', "", "")
def test_the_fast_json_parse_gives_what_json_loads_gives(text: str, after: str, before: str):
    """Verification reads each entry's searchable values with orjson: whatever the text, the
    values or the refusal are those json.loads gives (integers beyond 64 bits, NaN, lone
    surrogates included)."""
    candidate = before + text + after
    assert _outcome(_searchable, candidate) == _outcome(_slow, candidate)
