"""`gateway audit verify --url ... --from FILE`: a running gateway's log checked from outside,
over its tiles, from the checkpoint kept last time: only the new entries are read, and a log
cut short, rewritten, or shown differently to someone else is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.cosignatures import Cosigner, WitnessPolicy, with_cosignatures
from gateway.audit.incremental import Verified, verify_tiled
from gateway.audit.remote import TiledLog
from gateway.cli.main import cli
from tests.audit.logs import record_decisions
from tests.audit.tampering import query, tamper
from tests.support import LiveServer, fresh_database, start_live_server


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    with start_live_server(database_url, tmp_path / "live", audit_log_public="entries") as live:
        yield live


def prefix(server: LiveServer) -> str:
    return f"{server.url}/v1/audit/log"


class Counting(TiledLog):
    """A tiled log that notes which paths it fetched."""

    fetched: list[str]

    @classmethod
    def at(cls, server: LiveServer) -> Counting:
        log = cls(prefix(server), httpx.Client(timeout=30))
        log.fetched = []
        return log

    def _get(self, path: str) -> bytes:
        self.fetched.append(path)
        return super()._get(path)


def check(server: LiveServer, **options: Any) -> tuple[Verified, list[str]]:
    """Verify the server's log over its tiles; what it found, and the paths it fetched."""
    with Counting.at(server) as log:
        return verify_tiled(log, server.runtime.audit.verifier, **options), log.fetched


def test_only_the_entries_added_since_the_kept_checkpoint_are_read(server: LiveServer):
    runtime = server.runtime
    record_decisions(runtime, 600)
    first, _ = check(server)
    assert first.report.intact, first.report.problems
    assert first.checkpoint is not None
    kept_size = int(first.checkpoint.split("\n")[1])
    record_decisions(runtime, 700, "b")
    second, fetched = check(server, kept=first.checkpoint)
    assert second.report.intact, second.report.problems
    assert second.report.size == kept_size + 700
    bundles = sorted(path for path in fetched if path.startswith("tile/entries/"))
    # Not one bundle wholly before the kept checkpoint: its entries were checked last time.
    assert bundles
    assert all(int(path.split("/")[2].split(".")[0]) >= kept_size // 256 for path in bundles)


def test_the_cli_keeps_the_newest_verified_checkpoint_for_next_time(
    server: LiveServer, tmp_path: Path
):
    runtime = server.runtime
    record_decisions(runtime, 10)
    vkey = tmp_path / "log.vkey"
    vkey.write_text(runtime.audit.verifier.vkey())
    kept = tmp_path / "kept.checkpoint"
    args = ["audit", "verify", "--url", prefix(server), "--public-key", str(vkey), "--from"]
    result = CliRunner().invoke(cli, [*args, str(kept)])
    assert result.exit_code == 0, result.output
    size = int(kept.read_text().split("\n")[1])
    record_decisions(runtime, 5, "b")
    result = CliRunner().invoke(cli, [*args, str(kept)])
    assert result.exit_code == 0, result.output
    assert int(kept.read_text().split("\n")[1]) == size + 5


def test_a_changed_entry_after_the_kept_checkpoint_is_named(server: LiveServer):
    runtime = server.runtime
    record_decisions(runtime, 20)
    kept = check(server)[0].checkpoint
    record_decisions(runtime, 20, "b")
    ((entry_id, seq),) = query(
        runtime.settings.database_url,
        "SELECT entry_id, seq FROM audit_leaves ORDER BY seq DESC LIMIT 1 OFFSET 3",
    )
    tamper(
        runtime.settings.database_url,
        "UPDATE audit_entries SET body = replace(body, 'benefit_entitlement', 'case_management')"
        " WHERE id = :id",
        id=entry_id,
    )
    outcome, _ = check(server, kept=kept)
    assert not outcome.report.intact
    assert outcome.checkpoint is None
    assert f"position {seq} was changed" in outcome.report.problems[0]


def test_a_log_cut_short_after_the_kept_checkpoint_is_refused(server: LiveServer):
    runtime = server.runtime
    record_decisions(runtime, 10)
    record_decisions(runtime, 10, "b")
    kept = check(server)[0].checkpoint
    assert kept is not None
    size = int(kept.split("\n")[1])
    # The newest checkpoint gone: the log now shows the older, smaller one as its newest.
    tamper(runtime.settings.database_url, "DELETE FROM audit_checkpoints WHERE size >= :s", s=size)
    outcome, _ = check(server, kept=kept)
    assert not outcome.report.intact
    assert "cut short or rolled back" in outcome.report.problems[0]


def test_another_history_under_the_same_key_does_not_extend_the_kept_one(
    server: LiveServer, tmp_path: Path, postgres_url: str | None
):
    """The operator runs a second database with the log's key folder: a verifier holding a
    checkpoint of the first sees that the second's history does not extend it."""
    runtime = server.runtime
    record_decisions(runtime, 30)
    kept = check(server)[0].checkpoint
    with (
        fresh_database(postgres_url, "split") as other_url,
        start_live_server(
            other_url, tmp_path / "other", key_dir=runtime.settings.key_dir, audit_log_public="tree"
        ) as other,
    ):
        record_decisions(other.runtime, 40, "other")
        outcome, _ = check(other, kept=kept)
    assert not outcome.report.intact
    assert "does not extend the one you kept" in outcome.report.problems[0]


def test_a_witness_policy_refuses_a_checkpoint_no_witness_cosigned(server: LiveServer):
    runtime = server.runtime
    record_decisions(runtime, 5)
    witness = Cosigner("witness.example/w1", Ed25519PrivateKey.generate())
    policy = WitnessPolicy((witness.key,), quorum=1)
    outcome, _ = check(server, policy=policy)
    assert not outcome.report.intact
    assert "cosigned by 0 of the 1 witnesses" in outcome.report.problems[0]


def test_a_forged_cosignature_is_refused(server: LiveServer):
    runtime = server.runtime
    record_decisions(runtime, 5)
    witness = Cosigner("witness.example/w1", Ed25519PrivateKey.generate())
    # The witness's name and key id, over another text: it does not verify on this one.
    forged = witness.cosign("another.example/log\n1\n", 1_796_000_000)

    class Forging(Counting):
        def checkpoint(self) -> str:
            return with_cosignatures(super().checkpoint(), [forged])

    policy = WitnessPolicy((witness.key,), quorum=1)
    with Forging(prefix(server), httpx.Client(timeout=30)) as log:
        log.fetched = []
        outcome = verify_tiled(log, runtime.audit.verifier, policy=policy)
    assert not outcome.report.intact
    assert "forged" in outcome.report.problems[-1]


def test_without_a_token_a_private_log_cannot_be_read(database_url: str, tmp_path: Path):
    with start_live_server(database_url, tmp_path / "private") as private:
        record_decisions(private.runtime, 3)
        vkey = tmp_path / "log.vkey"
        vkey.write_text(private.runtime.audit.verifier.vkey())
        result = CliRunner().invoke(
            cli, ["audit", "verify", "--url", prefix(private), "--public-key", str(vkey)]
        )
    assert result.exit_code == 1
    assert "cannot read the log" in result.output
    assert "HTTP 401" in result.output
