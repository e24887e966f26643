"""Files in the key folder, as every key store there writes them: one process at a time
changes a store's folder, and each key file appears complete, readable by the owner only and
on disk before anything is done with its key."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def changing(folder: Path) -> Iterator[None]:
    """Hold the folder's lock (created with the folder, mode 0700) for the block."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_json(path: Path, content: dict[str, Any]) -> None:
    """Replace ``path`` atomically with ``content`` (mode 0600), file and folder fsynced: a key
    lost in a crash after use would leave what it signed or wrapped unusable."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(content, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
