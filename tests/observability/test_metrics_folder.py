"""Which metrics folders a starting gateway removes: only this user's, named after a process
that has ended, whose workers have all ended too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gateway.observability.metrics_folder import PREFIX, mark_worker, remove_stale


def _ended() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _folder(temp: Path, owner: int, name: str) -> Path:
    folder = temp / f"{PREFIX}{owner}-{name}"
    folder.mkdir()
    return folder


def test_a_folder_a_live_worker_marked_is_kept_though_its_owner_ended(tmp_path: Path):
    folder = _folder(tmp_path, _ended(), "worker-alive")
    mark_worker(folder)  # this test's process plays the worker
    remove_stale(tmp_path)
    assert folder.is_dir()


def test_a_folder_whose_owner_and_workers_ended_is_removed(tmp_path: Path):
    folder = _folder(tmp_path, _ended(), "all-gone")
    (folder / f"worker_{_ended()}.pid").touch()
    (folder / f"counter_{_ended()}.db").touch()
    remove_stale(tmp_path)
    assert not folder.exists()


def test_links_and_folders_named_without_a_process_are_left_alone(tmp_path: Path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / f"{PREFIX}{_ended()}-link"
    link.symlink_to(target)
    unnamed = tmp_path / f"{PREFIX}abc123"  # as gateways before this one named them
    unnamed.mkdir()
    remove_stale(tmp_path)
    assert link.is_symlink()
    assert target.is_dir()
    assert unnamed.is_dir()


def test_a_folder_whose_owner_is_a_zombie_is_removed(tmp_path: Path):
    """A killed gateway's workers are re-parented to the machine's init, and stay zombies
    until it reaps them (some containers' never does): a zombie uses no folder."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)  # ended, not reaped
    folder = _folder(tmp_path, process.pid, "zombie")
    try:
        remove_stale(tmp_path)
    finally:
        process.wait()
    assert not folder.exists()
