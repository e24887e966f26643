"""``gateway serve --workers N`` shares its workers' metrics through a folder in the temporary
folder; one whose gateway was killed (``kill -9``, the OOM killer) is removed when a gateway
starts, and only such a one: several gateways may run on one machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.cli.test_serve import serving, wait_for_workers

PREFIX = "gateway-metrics-"


def _folders(temp: Path) -> set[str]:
    return {path.name for path in temp.glob(PREFIX + "*")}


def _a_process_that_ended() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_killed_gateways_metrics_folder_is_removed_at_the_next_start(
    database_url: str, tmp_path: Path
):
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {"TMPDIR": str(temp)}
    with serving("--workers", "2", cwd=tmp_path, database_url=database_url, name="first",
                 env=env) as first:  # fmt: skip
        wait_for_workers(first, 2)
        (killed,) = _folders(temp)
        os.killpg(first.process.pid, signal.SIGKILL)  # the gateway and its workers
        first.process.wait()
    assert _folders(temp) == {killed}  # nobody was left to remove it

    # Another gateway's folders on the same machine: its own process still runs, or one of
    # its workers (whose parent was killed) still writes metrics there.
    running = temp / f"{PREFIX}{os.getpid()}-running"
    running.mkdir()
    orphaned = temp / f"{PREFIX}{_a_process_that_ended()}-orphaned"
    orphaned.mkdir()
    (orphaned / f"counter_{os.getpid()}.db").write_bytes(b"")

    with serving("--workers", "2", cwd=tmp_path, database_url=database_url, name="second",
                 env=env) as second:  # fmt: skip
        wait_for_workers(second, 2)
        kept = _folders(temp)

    assert killed not in kept
    assert {running.name, orphaned.name} <= kept
    assert len(kept) == 3  # and the second gateway's own
    assert _folders(temp) == {running.name, orphaned.name}  # its own went with it
