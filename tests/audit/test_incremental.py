"""Incremental verification from a kept checkpoint reads only what came after it, and still
catches tampering after it, a changed tree before it, a checkpoint from another history and a
log rolled back behind it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from gateway.audit.incremental import Verified, verify_stored_from
from gateway.audit.merkle import Frontier, leaf_hash
from gateway.audit.notes import Checkpoint, sign_checkpoint
from gateway.audit.retention import prune
from gateway.audit.service import encode
from gateway.audit.verify import verify_stored
from gateway.cli.main import cli
from gateway.runtime import Runtime
from tests.audit.logs import record_decisions
from tests.audit.tampering import EMPTY, query, tamper

KEPT_SIZE = 12  # the tree of 12 leaves is made of the subtrees (3, 0) and (2, 2)
SIZE = 20
LONG_AGO = datetime.now(UTC) - timedelta(days=400)


def note_of(runtime: Runtime, size: int) -> str:
    ((note,),) = query(
        runtime.settings.database_url, "SELECT note FROM audit_checkpoints WHERE size = :s", s=size
    )
    return str(note)


def entry_id_at(runtime: Runtime, position: int) -> int:
    ((entry_id,),) = query(
        runtime.settings.database_url,
        "SELECT entry_id FROM audit_leaves WHERE seq = :p",
        p=position,
    )
    return int(entry_id)


@pytest.fixture
def log(runtime: Runtime) -> Runtime:
    """Twenty entries, checkpointed after every fourth; the DPO kept the one of twelve."""
    for start in range(0, SIZE, 4):
        record_decisions(runtime, range(start, start + 4))
    return runtime


def check(runtime: Runtime, kept: str | None = None) -> Verified:
    with runtime.database.transaction(read_only=True) as session:
        return verify_stored_from(session, runtime.audit.verifier, kept or note_of(runtime, 12))


def test_a_log_grown_after_the_kept_checkpoint_verifies_from_it(log: Runtime):
    verified = check(log)
    assert verified.report.intact, verified.report.problems
    assert verified.report.size == SIZE
    assert verified.report.checkpoints_checked == 4  # 12 (stored and kept), 16, 20
    assert verified.checkpoint == note_of(log, SIZE)


def test_only_the_entries_after_the_kept_checkpoint_are_read(log: Runtime):
    """A change before the kept checkpoint that leaves the tree alone is for a full
    verification to find: the incremental one does not read those entries again."""
    tamper(
        log.settings.database_url,
        "UPDATE audit_entries SET purpose = 'other' WHERE id = :id",
        id=entry_id_at(log, 3),
    )
    assert check(log).report.intact
    with log.database.transaction(read_only=True) as session:
        assert not verify_stored(session, log.audit.verifier).intact


def test_the_kept_checkpoint_itself_verifies_when_nothing_was_added(runtime: Runtime):
    record_decisions(runtime, range(4))
    kept = note_of(runtime, 4)
    verified = check(runtime, kept)
    assert verified.report.intact, verified.report.problems
    assert verified.checkpoint == kept


def test_a_changed_entry_after_the_kept_checkpoint_is_pinpointed(log: Runtime):
    tamper(
        log.settings.database_url,
        "UPDATE audit_entries SET body = REPLACE(body, '\"permit\"', '\"deny\"'), "
        "decision = 'deny' WHERE id = :id",
        id=entry_id_at(log, 14),
    )
    verified = check(log)
    assert verified.report.problems[0].startswith("first bad entry: position 14 was changed")
    assert verified.checkpoint is None


def test_a_deleted_entry_after_the_kept_checkpoint_is_pinpointed(log: Runtime):
    entry = entry_id_at(log, 13)
    tamper(log.settings.database_url, "DELETE FROM audit_entries WHERE id = :id", id=entry)
    assert check(log).report.problems[0] == (
        f"first bad entry: position 13 (entry id {entry}) was deleted"
    )


def test_an_entry_deleted_with_its_leaf_after_the_kept_checkpoint_is_pinpointed(log: Runtime):
    entry = entry_id_at(log, 15)
    tamper(
        log.settings.database_url,
        "DELETE FROM audit_leaves WHERE seq = 15",
        "DELETE FROM audit_entries WHERE id = :id",
        id=entry,
    )
    assert check(log).report.problems[0].startswith("first bad entry: position 15 is missing")


def test_reordered_leaves_after_the_kept_checkpoint_are_pinpointed(log: Runtime):
    tamper(
        log.settings.database_url,
        "UPDATE audit_leaves SET seq = 1000 WHERE seq = 13",
        "UPDATE audit_leaves SET seq = 13 WHERE seq = 14",
        "UPDATE audit_leaves SET seq = 14 WHERE seq = 1000",
    )
    problems = check(log).report.problems
    assert problems[0].startswith("first bad entry: between position 12 and 15")


def test_an_entry_emptied_without_licence_after_the_kept_checkpoint_is_named(log: Runtime):
    tamper(log.settings.database_url, EMPTY, id=entry_id_at(log, 17))
    assert check(log).report.problems == [
        "first bad entry: position 17 lost its content, and no recorded pruning covers it "
        "(emptied from outside)"
    ]


def test_entries_pruned_under_a_record_placed_after_the_kept_checkpoint_verify(
    runtime: Runtime,
):
    record_decisions(runtime, range(4), now=LONG_AGO)
    kept = note_of(runtime, 4)
    record_decisions(runtime, range(4, 10), now=LONG_AGO)
    assert prune(runtime.audit, runtime.database, datetime.now(UTC) - timedelta(days=30)) == 10
    verified = check(runtime, kept)
    assert verified.report.intact, verified.report.problems
    assert verified.report.pruned == 6  # the four before the kept checkpoint are not read


def test_an_entry_inserted_beside_the_log_after_the_kept_checkpoint_is_named(log: Runtime):
    body = encode({"v": 1, "time": "2026-01-01T00:00:00.000000Z", "event": "exchange.decided"})
    tamper(
        log.settings.database_url,
        "INSERT INTO audit_entries (recorded_at, event, body) VALUES (:t, 'exchange.decided', :b)",
        t="2026-01-01 00:00:00+00:00",
        b=body,
    )
    assert any("is not part of the log" in problem for problem in check(log).report.problems)


def test_a_changed_subtree_of_the_kept_tree_is_caught_by_its_right_edge(log: Runtime):
    tamper(
        log.settings.database_url,
        "UPDATE audit_nodes SET hash = :h WHERE level = 2 AND idx = 2",
        h=leaf_hash(b"forged"),
    )
    verified = check(log)
    assert verified.report.problems == [
        "the log's first 12 entries do not make the tree of the checkpoint you kept: the log "
        "before that point was changed, or the checkpoint comes from another history of the log"
    ]
    assert verified.checkpoint is None


def test_a_rewritten_history_before_the_kept_checkpoint_is_caught(log: Runtime):
    """The attacker changes an early entry and its leaf, and every stored subtree above it."""
    url = log.settings.database_url
    entry = entry_id_at(log, 1)
    ((body,),) = query(url, "SELECT body FROM audit_entries WHERE id = :id", id=entry)
    forged = body.replace('"permit"', '"deny"')
    rows = query(url, "SELECT leaf_hash FROM audit_leaves WHERE seq < 8 ORDER BY seq")
    leaves = [bytes(digest) for (digest,) in rows]
    leaves[1] = leaf_hash(forged.encode())
    rebuilt, nodes = Frontier(), []
    for digest in leaves:
        nodes.extend(rebuilt.append(digest))
    statements = ["UPDATE audit_entries SET body = :b, decision = 'deny' WHERE id = :id"]
    statements.append("UPDATE audit_leaves SET leaf_hash = :h WHERE seq = 1")
    statements += [
        f"UPDATE audit_nodes SET hash = :n{number} WHERE level = {level} AND idx = {index}"
        for number, (level, index, _) in enumerate(nodes)
    ]
    digests = {f"n{number}": digest for number, (_, _, digest) in enumerate(nodes)}
    tamper(url, *statements, id=entry, b=forged, h=leaves[1], **digests)
    assert "checkpoint you kept" in check(log).report.problems[0]


def test_a_missing_subtree_of_the_kept_tree_is_named(log: Runtime):
    tamper(log.settings.database_url, "DELETE FROM audit_nodes WHERE level = 3 AND idx = 0")
    assert check(log).report.problems == [
        "the stored subtree at level 3, index 0 (part of the tree of 12 entries) is missing: "
        "deleted from the database"
    ]


def test_a_changed_subtree_after_the_kept_checkpoint_fails_the_consistency_proof(log: Runtime):
    """The walk recomputes the new part of the tree from its leaves; the stored subtrees the
    log builds its proofs from are checked by the consistency proof to the newest checkpoint."""
    tamper(
        log.settings.database_url,
        "UPDATE audit_nodes SET hash = :h WHERE level = 2 AND idx = 3",
        h=leaf_hash(b"forged"),
    )
    verified = check(log)
    assert verified.report.problems == [
        "the consistency proof from 12 to 20 entries, built from the stored subtrees, does not "
        "verify: a stored subtree was changed"
    ]
    assert verified.checkpoint is None


def test_a_kept_checkpoint_from_another_history_is_refused(log: Runtime):
    other = Frontier()
    for number in range(KEPT_SIZE):
        other.append(leaf_hash(f"another history {number}".encode()))
    signer = log.audit.signer
    kept = sign_checkpoint(Checkpoint(signer.name, KEPT_SIZE, other.root()), signer)
    verified = check(log, kept)
    assert verified.report.problems[0].startswith("the log's first 12 entries do not make")
    assert verified.checkpoint is None


def test_a_kept_checkpoint_larger_than_the_log_is_refused(log: Runtime):
    kept = note_of(log, SIZE)
    tamper(
        log.settings.database_url,
        "DELETE FROM audit_entries WHERE id IN (SELECT entry_id FROM audit_leaves WHERE seq >= 10)",
        "DELETE FROM audit_leaves WHERE seq >= 10",
        "DELETE FROM audit_checkpoints WHERE size > 8",
    )
    verified = check(log, kept)
    assert verified.report.problems == [
        "the log was cut short or rolled back: the checkpoint you kept covers 20 entries, the "
        "log holds 10"
    ]
    assert verified.checkpoint is None


def test_a_kept_checkpoint_the_key_did_not_sign_is_refused(log: Runtime):
    kept = note_of(log, KEPT_SIZE).replace("\n12\n", "\n13\n")
    verified = check(log, kept)
    assert verified.report.problems[0].startswith("the kept checkpoint does not verify")
    assert verified.checkpoint is None


def test_the_cli_verifies_a_database_from_the_kept_file_and_keeps_the_newest(
    runtime: Runtime, tmp_path
):
    """`gateway audit verify --from FILE`: the first run (no file yet) checks everything and
    keeps the newest checkpoint; the next checks from it; a bad run keeps the old file."""
    record_decisions(runtime, range(KEPT_SIZE))
    kept = tmp_path / "kept.checkpoint"
    environment = {
        "GATEWAY_DATABASE_URL": runtime.settings.database_url,
        "GATEWAY_KEY_DIR": str(runtime.settings.key_dir),
    }
    args = ["audit", "verify", "--wait", "0", "--from", str(kept)]
    first = CliRunner().invoke(cli, args, env=environment)
    assert first.exit_code == 0, first.output
    assert f"intact: {KEPT_SIZE} entries" in first.output
    record_decisions(runtime, range(KEPT_SIZE, SIZE))
    second = CliRunner().invoke(cli, args, env=environment)
    assert second.exit_code == 0, second.output
    assert f"intact: {SIZE} entries" in second.output
    assert kept.read_text() == note_of(runtime, SIZE)
    record_decisions(runtime, range(SIZE, SIZE + 3))
    tamper(
        runtime.settings.database_url,
        "UPDATE audit_entries SET body = replace(body, 'koeln-sozialamt', 'koeln-abh')"
        " WHERE id = :id",
        id=entry_id_at(runtime, SIZE + 1),
    )
    third = CliRunner().invoke(cli, args, env=environment)
    assert third.exit_code == 1
    assert f"position {SIZE + 1} was changed" in third.output
    assert kept.read_text() == note_of(runtime, SIZE)  # not replaced by an unverified one
