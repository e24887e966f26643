"""Faults an operator meets, made for real: a TCP proxy between the gateway and PostgreSQL that
can be cut (its connections closed, new ones refused) and restored, and a SQLite database's
files made read-only (immutable: root ignores file modes, not this flag)."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to a PostgreSQL server until ``cut``; ``restore`` serves again
    on the same port. Cutting closes every forwarded connection and refuses new ones, as a
    server that went away does."""

    def __init__(self, target_host: str, target_port: int):
        self._target = (target_host, target_port)
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = int(probe.getsockname()[1])
        probe.close()
        self.restore()

    def url(self, database_url: str) -> str:
        """``database_url`` (a PostgreSQL URL) reaching its server through this proxy."""
        parsed = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return parsed.render_as_string(hide_password=False)

    def restore(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # cut
                return
            try:
                server = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def cuttable(database_url: str) -> Iterator[CuttableProxy]:
    target = make_url(database_url)
    proxy = CuttableProxy(target.host or "127.0.0.1", target.port or 5432)
    try:
        yield proxy
    finally:
        proxy.close()


def _chattr(flag: str, paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["chattr", flag, *map(str, paths)], capture_output=True, text=True, check=False
    )


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """The files made read-only for every process, the gateway's open ones included (the
    immutable flag, which root's processes obey too), until the block ends. Skips the test
    where the file system or the test's privileges do not allow it."""
    made = _chattr("+i", list(paths))
    if made.returncode != 0:
        pytest.skip(f"cannot make a file read-only here (chattr +i): {made.stderr.strip()}")
    try:
        yield
    finally:
        _chattr("-i", list(paths))


def database_files(database_url: str) -> list[Path]:
    """A SQLite database's file and its write-ahead log (if there is one): what holds its data.
    Not the ``-shm`` index, memory SQLite maps: frozen under a running process, it takes that
    process down (SIGBUS), which no read-only disk does."""
    path = Path(make_url(database_url).database or "")
    log = path.with_name(path.name + "-wal")
    return [path, log] if log.exists() else [path]


def on_a_small_disk(folder: Path, command: list[str], *, full: bool, size: str = "8m") -> list[str]:
    """``command`` run with ``folder`` on a disk of its own of ``size`` (a tmpfs, mounted in a
    mount namespace of the command's own, so the machine's other processes never see it), filled
    up before the command starts if ``full``. Skips the test where that is not permitted."""
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a small disk here (unshare --mount): {probe.stderr.strip()}")
    fill = 'cat /dev/zero > "$1/filler" 2>/dev/null;' if full else ""
    script = f'mount -t tmpfs -o size={size} tmpfs "$1" || exit 97; {fill} shift; exec "$@"'
    namespace = ["unshare", "--mount", "--propagation", "private"]
    return [*namespace, "sh", "-c", script, "sh", str(folder), *command]


def fill_the_disk_of(pid: int, folder: Path) -> None:
    """Fill the small disk of ``on_a_small_disk`` that the process ``pid`` sees at ``folder``."""
    fill = 'cat /dev/zero > "$0/filler" 2>/dev/null; true'
    subprocess.run(
        ["nsenter", "--target", str(pid), "--mount", "--", "sh", "-c", fill, str(folder)],
        check=True,
    )


def free_the_disk_of(pid: int, folder: Path) -> None:
    """Make room again on that disk."""
    subprocess.run(
        ["nsenter", "--target", str(pid), "--mount", "--", "rm", str(folder / "filler")],
        check=True,
    )
