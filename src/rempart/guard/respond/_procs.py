"""Process trees from /proc: children, ancestors, names; freezing and killing a whole tree.

The tree is frozen (SIGSTOP) from the top down and scanned again until no new child shows up,
so nothing forks or keeps writing while the rest is found; only then is everything killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    ppid: int
    name: str  # comm, as the kernel keeps it (15 characters)
    state: str  # R, S, D, T, Z...


def info(pid: int) -> ProcInfo | None:
    """What /proc says about `pid`, or None when it is gone."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm sits between the first "(" and the last ")": it may itself hold ") ".
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return ProcInfo(pid, int(fields[1]), name, fields[0])


def cmdline(pid: int) -> str | None:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "backslashreplace")


def started(pid: int) -> float | None:
    """When `pid` started (seconds since the epoch, to about a second), None when gone."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text(errors="replace")
        ticks = int(raw[raw.rindex(")") + 2 :].split()[19])  # field 22: starttime
        with open(_PROC / "stat") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return btime + ticks / os.sysconf("SC_CLK_TCK")


def all_procs() -> list[ProcInfo]:
    found = []
    for entry in os.listdir(_PROC):
        if entry.isdigit() and (p := info(int(entry))) is not None:
            found.append(p)
    return found


def children(pid: int, procs: list[ProcInfo] | None = None) -> list[int]:
    """Every descendant of `pid` (not `pid` itself), parents before their children."""
    by_parent: dict[int, list[int]] = {}
    for p in procs if procs is not None else all_procs():
        by_parent.setdefault(p.ppid, []).append(p.pid)
    out: list[int] = []
    todo = list(by_parent.get(pid, []))
    while todo:
        child = todo.pop(0)
        out.append(child)
        todo.extend(by_parent.get(child, []))
    return out


def ancestors(pid: int) -> list[int]:
    """`pid`'s parents up to PID 1 (included)."""
    out = []
    cur = info(pid)
    while cur is not None and cur.ppid > 0 and cur.ppid not in out:
        out.append(cur.ppid)
        cur = info(cur.ppid)
    return out


def freeze_tree(pid: int, *, rounds: int = 20) -> list[int]:
    """SIGSTOP `pid` and all its descendants, rescanning until none is new; returns them."""
    frozen: list[int] = []
    seen: set[int] = set()
    todo = [pid]
    for _ in range(rounds):
        for p in todo:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGSTOP)
                frozen.append(p)
            seen.add(p)
        # A child forked between the scan and the stop is caught by the next scan.
        todo = [c for c in children(pid) if c not in seen]
        if not todo:
            break
    return frozen


def kill_all(pids: list[int], *, wait: float = 2.0) -> list[int]:
    """SIGKILL `pids` and wait until they are dead (zombies count); returns those still alive."""
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    deadline = time.monotonic() + wait
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if (i := info(p)) is not None and i.state not in ("Z", "X")]
        if alive:
            time.sleep(0.005)
    return alive
