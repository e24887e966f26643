"""CPU time a server process (and its worker children) spent, read from Linux's /proc.

Throughput on a shared two-core machine depends on everything else running; the CPU a server
spends per request is its own cost, and steadier from run to run.
"""

from __future__ import annotations

import os
from pathlib import Path

_PROC = Path("/proc")


def available() -> bool:
    return (_PROC / "self" / "stat").exists()


def parent(pid: int) -> int | None:
    """The parent of ``pid``, if that process runs on this machine."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def tree_seconds(pid: int) -> float:
    """User and system CPU seconds of ``pid`` and every living descendant."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # The command name (field 2) may hold spaces and parentheses: split after its end.
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, of in parents.items() if of == parent]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(member, 0.0) for member in tree)
