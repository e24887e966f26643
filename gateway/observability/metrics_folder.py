"""The folder where the workers of ``gateway serve --workers N`` share their metrics
(prometheus_client's multiprocess mode): made at each start in the temporary folder, named
after the process that owns it, and removed when that process stops. A gateway killed with
``kill -9`` (or by the OOM killer) cannot remove its own, so each start removes those whose
users are all gone, and only those: several gateways may run on one machine, and the workers
of a killed gateway keep serving, and writing there, until they are stopped too.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

PREFIX = "gateway-metrics-"
# A worker's files there: its mark, and prometheus_client's `<kind>_<pid>.db`.
_WORKER_FILE = re.compile(r"_(\d+)\.(?:db|pid)$")


def new_folder() -> Path:
    """A new folder for this process's workers."""
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))


def mark_worker(folder: Path) -> None:
    """Called by each worker as it starts: it uses ``folder`` before it writes a metric."""
    (folder / f"worker_{os.getpid()}.pid").touch()


def remove_stale(temp: Path | None = None) -> None:
    """Remove this user's metrics folders whose owning process and workers have all ended."""
    for folder in (temp or Path(tempfile.gettempdir())).glob(PREFIX + "*"):
        owner = _owner(folder)
        if owner is None or _alive(owner):
            continue
        workers = _workers(folder)
        if workers is None or any(_alive(pid) for pid in workers):
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _owner(folder: Path) -> int | None:
    """The process named by a folder this user made; None for anything else (another user's
    folder, a link, a folder an older gateway named without its process)."""
    try:
        info = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        return None
    pid = folder.name.removeprefix(PREFIX).split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def _workers(folder: Path) -> set[int] | None:
    """The processes that used the folder; None if it cannot be read (then it is kept)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    return {int(found.group(1)) for name in names if (found := _WORKER_FILE.search(name))}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """An ended process its parent has not reaped yet: a killed gateway's workers stay so
    until the machine's init reaps them (in some containers, never)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc, or gone meanwhile
        return False
    return stat_line.rpartition(")")[2].split()[:1] == ["Z"]
