"""Peak resident memory of a process tree, sampled from /proc (Linux)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Peak:
    tree_kib: int = 0  # the whole tree at its largest
    process_kib: int = 0  # the largest single process


def run_measured(
    cmd: list[str], **kw: object
) -> tuple[subprocess.CompletedProcess[bytes], Peak, float]:
    """Run `cmd`, sampling its process tree's RSS every 100 ms; return result, peak, seconds."""
    peak = Peak()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, **kw)  # type: ignore[call-overload]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            pids, todo = [], [proc.pid]
            while todo:
                p = todo.pop()
                pids.append(p)
                todo += _children(p)
            sizes = [_rss_kib(p) for p in pids]
            peak.tree_kib = max(peak.tree_kib, sum(sizes))
            peak.process_kib = max(peak.process_kib, max(sizes, default=0))
            stop.wait(0.1)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    t.join()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), peak, elapsed
