"""Several gateway processes append to one audit log at once and still make one consistent
log: every entry placed exactly once, positions without gaps, and the whole verifies."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from click.testing import CliRunner
from sqlalchemy import func, select

from gateway.audit import keys as audit_keys
from gateway.audit.keys import load_signer
from gateway.audit.notes import verify_checkpoint
from gateway.audit.tables import AuditCheckpoint, AuditEntry, AuditLeaf, AuditPending
from gateway.cli.main import cli
from gateway.db.engine import connect
from gateway.runtime import open_audit_log
from gateway.settings import Settings
from tests.audit import rfc6962

WRITERS = ("writer-a", "writer-b")
ENTRIES_PER_WRITER = 200
PUBLISH_EVERY = 25
PROCESS_TIMEOUT = 90  # seconds; a bound against hanging, not a performance threshold

# Run by each writer process: connect, wait until every writer is ready, then record its
# entries one transaction each, publishing now and then, as a gateway process does.
WRITER = """
import sys
import time
from pathlib import Path

from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.db.engine import connect
from gateway.runtime import open_audit_log
from gateway.settings import Settings

url, key_dir, name, count, every, folder = sys.argv[1:]
settings = Settings(database_url=url, key_dir=Path(key_dir), issuer="http://localhost")
audit = open_audit_log(settings)
database = connect(url)
folder = Path(folder)
(folder / f"ready-{name}").touch()
deadline = time.monotonic() + 60
while not (folder / "go").exists():
    if time.monotonic() > deadline:
        sys.exit("never told to start")
    time.sleep(0.005)
for number in range(int(count)):
    with database.transaction() as session:
        audit.record(
            session,
            AuditEvent(
                EventType.EXCHANGE_DECIDED,
                requester=name,
                provider="koeln-abh",
                subject_id=f"subject-{number % 7}",
                categories=("residence_status",),
                purpose="case_management",
                decision=Decision.DENY,
                reason="no_consent",
                request_id=f"{name}-{number}",
            ),
        )
    if number % int(every) == int(every) - 1:
        audit.publish(database)
database.dispose()
"""


def run_writers(database_url: str, settings: Settings, folder: Path) -> None:
    script = folder / "writer.py"
    script.write_text(WRITER)
    arguments = [database_url, str(settings.key_dir)]
    counts = [str(ENTRIES_PER_WRITER), str(PUBLISH_EVERY), str(folder)]
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), *arguments, name, *counts],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in WRITERS
    ]
    try:
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while not all((folder / f"ready-{name}").exists() for name in WRITERS):
            failed = [p for p in processes if p.poll() not in (None, 0)]
            assert not failed, failed[0].communicate()[1]
            assert time.monotonic() < deadline, "the writers did not start"
            time.sleep(0.01)
        (folder / "go").touch()
        for process in processes:
            _, errors = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            assert process.returncode == 0, errors
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()


@pytest.fixture
def writer_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        key_dir=tmp_path / "keys",
        demo_dir=tmp_path / "demo",
        issuer="http://localhost",
        audit_checkpoint_interval=0,
    )


def test_two_writer_processes_make_one_gapless_log_that_verifies(
    database_url: str, writer_settings: Settings, tmp_path: Path
):
    # The log's keys exist before the writers start, as in a deployment; two processes
    # creating them at the same moment is the subject of the test below.
    audit = open_audit_log(writer_settings)
    run_writers(database_url, writer_settings, tmp_path)

    database = connect(database_url)
    try:
        published = audit.publish(database)
        total = len(WRITERS) * ENTRIES_PER_WRITER
        assert published.size == total
        with database.transaction(read_only=True) as session:
            leaves = session.execute(
                select(AuditLeaf.seq, AuditLeaf.entry_id).order_by(AuditLeaf.seq)
            ).all()
            entries = {
                entry.id: json.loads(entry.body) for entry in session.scalars(select(AuditEntry))
            }
            pending = session.scalar(select(func.count()).select_from(AuditPending))
            checkpoints = list(session.scalars(select(AuditCheckpoint)))
            leaf_hashes = list(session.scalars(select(AuditLeaf.leaf_hash).order_by(AuditLeaf.seq)))
    finally:
        database.dispose()

    assert [seq for seq, _ in leaves] == list(range(total))
    placed = [entry_id for _, entry_id in leaves]
    assert len(set(placed)) == len(placed) == total
    assert set(placed) == set(entries)
    assert pending == 0
    recorded = [entries[entry_id]["request_id"] for entry_id in placed]
    for name in WRITERS:
        # Each writer committed its entries one after another: they keep that order.
        assert [r for r in recorded if r.startswith(f"{name}-")] == [
            f"{name}-{number}" for number in range(ENTRIES_PER_WRITER)
        ]

    # The newest checkpoint signs the RFC 6962 root of exactly these entries in this order.
    bodies = [rfc8785.dumps(entries[entry_id]) for entry_id in placed]
    assert leaf_hashes == [rfc6962.sha256(b"\x00" + body) for body in bodies]
    newest = verify_checkpoint(published.note, audit.verifier)
    assert newest.root == rfc6962.mth(bodies)
    # Both writers published along the way; every checkpoint is of a different size.
    assert len(checkpoints) > 2
    assert len({checkpoint.size for checkpoint in checkpoints}) == len(checkpoints)

    result = CliRunner(
        env={
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_KEY_DIR": str(writer_settings.key_dir),
        }
    ).invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"intact: {total} entries" in result.output


class _JsonArrivingLate:
    """Stands in for the ``json`` module inside gateway.audit.keys: just before a key file's
    content is written, a second process (``arrive``) opens the same key folder."""

    def __init__(self, arrive: Any):
        self._arrive = arrive
        self._arrived = False
        self.second: Any = None

    def dump(self, content: Any, handle: Any, **options: Any) -> None:
        if not self._arrived:
            self._arrived = True
            try:
                self.second = self._arrive()
            except Exception as failure:  # what the second process would die of
                self.second = failure
        json.dump(content, handle, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)


def test_processes_opening_an_empty_key_folder_at_once_share_one_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    key_dir = tmp_path / "keys"
    late = _JsonArrivingLate(lambda: load_signer(key_dir, "localhost/audit"))
    monkeypatch.setattr(audit_keys, "json", late)
    first = load_signer(key_dir, "localhost/audit")
    assert late.second is not None, "the second process never arrived"
    assert not isinstance(late.second, Exception), repr(late.second)
    assert late.second.verifier.vkey() == first.verifier.vkey()
