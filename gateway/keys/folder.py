"""Files in the key folder, as every key store there writes them: one process at a time
changes a store's folder, and each key file appears complete, readable by the owner only and
on disk before anything is done with its key. ``KeyFiles`` holds one folder of rotating keys
(one file per key, named by its id) as a running process sees it."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

# A change within the same timestamp tick would go unnoticed on file systems with coarse
# timestamps: a folder time this fresh is not remembered, so the next look reads again.
_FRESH_MTIME_NS = 2_000_000_000


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
    """Replace ``path`` atomically with ``content``: a key lost in a crash after use would
    leave what it signed or wrapped unusable."""
    write_atomically(path, json.dumps(content, indent=2))


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, whole or not at all (mode 0600), file and folder
    fsynced: after a crash it holds the old text or the new one, never a part."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
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


class RotatingKey(Protocol):
    """A key of a ``KeyFiles`` folder: a frozen dataclass with these fields."""

    @property
    def kid(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def retired_at(self) -> datetime | None: ...

    def to_file(self) -> dict[str, Any]: ...


K = TypeVar("K", bound=RotatingKey)


class KeyFiles(Generic[K]):
    """One folder of rotating keys, as a running process holds them: read again when the
    folder changed since the last look (another process rotated), looked at no more often
    than every ``reload_interval`` seconds. The active key is the newest not yet retired."""

    def __init__(
        self,
        folder: Path,
        *,
        parse: Callable[[Any], K],
        new: Callable[[datetime], K],
        error: Callable[[str], Exception],
        reload_interval: float = 1.0,
    ):
        self.folder = folder
        self._parse, self._new, self._error = parse, new, error
        self._reload_interval = reload_interval
        self._lock = threading.Lock()
        self._keys: dict[str, K] = {}
        self._seen_mtime: int | None = None
        self._checked_at = 0.0

    def keys(self) -> dict[str, K]:
        self._maybe_reload()
        return self._keys

    def key(self, kid: str) -> K | None:
        """The key of this id; looked for again in the folder if this process does not know
        it (another process may just have made it)."""
        self._maybe_reload()
        if kid not in self._keys:
            self.reload()
        return self._keys.get(kid)

    def active(self) -> K | None:
        return _newest_active(self.keys())

    def ensure(self) -> None:
        """Create the folder and a first key if there is none yet."""
        with changing(self.folder):
            if not self.read_all():
                self.write(self._new(datetime.now(UTC)))
        self.reload()

    def rotate(self, now: datetime | None = None) -> tuple[K, K | None]:
        """A new active key; the others are retired (kept for what they made). Returns the new
        key and the one it replaces."""
        now = now or datetime.now(UTC)
        with changing(self.folder):
            previous = _newest_active(self.read_all())
            new = self._new(now)
            # Written before the others are retired: a process reading in between sees two
            # active keys and takes the newer one, never none.
            self.write(new)
            for key in self.read_all().values():
                if key.kid != new.kid and key.retired_at is None:
                    self.write(dataclasses.replace(key, retired_at=now))  # type: ignore[type-var]
        self.reload()
        return new, previous

    def write(self, key: K) -> None:
        """Write one key's file (hold ``changing(self.folder)`` while doing so)."""
        write_json(self.folder / f"{key.kid}.json", key.to_file())

    def read_all(self) -> dict[str, K]:
        keys = {}
        for path in sorted(self.folder.glob("*.json")):
            try:
                key = self._parse(json.loads(path.read_text()))
            except FileNotFoundError:  # erased by another process since the listing
                continue
            except (ValueError, KeyError, TypeError) as bad:
                raise self._error(f"invalid key file {path}: {type(bad).__name__}") from None
            if path.name != f"{key.kid}.json":
                raise self._error(f"key file {path} does not hold the key its name says")
            keys[key.kid] = key
        return keys

    def reload(self) -> None:
        with self._lock:
            mtime = self.folder.stat().st_mtime_ns
            self._keys = self.read_all()
            fresh = time.time_ns() - mtime < _FRESH_MTIME_NS
            self._seen_mtime = None if fresh else mtime
            self._checked_at = time.monotonic()

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if self._keys and now - self._checked_at < self._reload_interval:
            return
        try:
            mtime = self.folder.stat().st_mtime_ns
        except FileNotFoundError as missing:
            raise self._error(f"key folder {self.folder} does not exist") from missing
        self._checked_at = now
        if mtime != self._seen_mtime:
            self.reload()


def _newest_active(keys: dict[str, K]) -> K | None:
    active = [key for key in keys.values() if key.retired_at is None]
    return max(active, key=lambda key: key.created_at) if active else None
