"""Starting on a database that cannot be used (a read-only file, a full disk, a server out of
reach): the operator's command says so in one line and exits non-zero, without a traceback,
and names the database only with its password hidden."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_serve import command_env
from tests.db.outage import on_a_small_disk, read_only
from tests.support import free_port

NO_SUCH_SERVER_PASSWORD = "s3cret-Passw0rd"


def gateway(*args: str) -> list[str]:
    if args[0] == "serve":
        args = (*args, "--port", str(free_port()))
    return [sys.executable, "-m", "gateway", *args]


def run(
    command: list[str], cwd: Path, database_url: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = command_env(database_url) | {"GATEWAY_KEY_DIR": str(cwd / "keys")} | settings
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def assert_refused_in_one_line(result: subprocess.CompletedProcess[str], *says: str) -> str:
    assert result.returncode not in (0, 97), result.stdout + result.stderr  # 97: no small disk
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in says:
        assert text in lines[0], lines[0]
    return lines[0]


COMMANDS = [("db", "upgrade"), ("agency", "list"), ("serve",)]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_read_only_database_that_needs_migrating_is_refused_in_one_line(
    command: tuple[str, ...], tmp_path: Path
):
    database = tmp_path / "gateway.db"
    database.touch()  # a new database: migrating it writes
    with read_only(database):
        result = run(gateway(*command), tmp_path, f"sqlite:///{database}")
    assert_refused_in_one_line(result, str(database), "read-only")


def test_serving_a_read_only_database_is_refused_in_one_line(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    migrated = run(gateway("db", "upgrade"), tmp_path, url)
    assert migrated.returncode == 0, migrated.stderr
    with read_only(tmp_path / "gateway.db"):  # serving records which policy set it serves
        result = run(gateway("serve"), tmp_path, url)
    assert_refused_in_one_line(result, str(tmp_path / "gateway.db"), "read-only")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_database_on_a_full_disk_is_refused_in_one_line(command: tuple[str, ...], tmp_path: Path):
    disk = tmp_path / "disk"
    disk.mkdir()
    database = disk / "gateway.db"
    result = run(
        on_a_small_disk(disk, gateway(*command), full=True), tmp_path, f"sqlite:///{database}"
    )
    assert_refused_in_one_line(result, str(database), "full")


def test_a_key_folder_on_a_full_disk_is_refused_in_one_line(tmp_path: Path):
    disk = tmp_path / "disk"
    disk.mkdir()
    command = on_a_small_disk(disk, gateway("serve"), full=True)
    env = {"GATEWAY_KEY_DIR": str(disk / "keys")}
    result = run(command, tmp_path, f"sqlite:///{tmp_path / 'gateway.db'}", **env)
    assert_refused_in_one_line(result, f"key folder {disk / 'keys'}", "No space left on device")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_database_server_out_of_reach_is_named_without_its_password(
    command: tuple[str, ...], tmp_path: Path
):
    url = f"postgresql://gateway:{NO_SUCH_SERVER_PASSWORD}@127.0.0.1:{free_port()}/gateway"
    result = run(gateway(*command), tmp_path, url)
    line = assert_refused_in_one_line(result, "postgresql://gateway:***@127.0.0.1:")
    assert NO_SUCH_SERVER_PASSWORD not in result.stdout + result.stderr
    assert "reach" in line
