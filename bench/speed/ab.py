"""A/B timing of whole `rempart scan` runs on existing trees: this tree's src against others.

    flock /tmp/rempart-bench.lock .venv/bin/python bench/speed/ab.py TREE... \\
        --baseline /tmp/old/src --runs 5

Each round runs every version (and `file -b` with the same parallelism) once per tree,
alternating, with a fresh SQLite store each run: the same command as bench/scan_speed.py
(`--workers 2 --hash none --json`). Prints median wall and CPU seconds (user + sys of the
whole process tree) per tree and tool, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from _corpus import fresh_store, scan_cmd  # noqa: E402  # bench scripts are not a package


def timed(cmd: list[str], env: dict[str, str] | None) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{cmd[0]} failed: {done.stderr[-2000:]!r}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("trees", nargs="+", type=Path)
    ap.add_argument("--baseline", type=Path, action="append", default=[], help="a src folder")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-file", action="store_true", help="leave `file -b` out")
    ap.add_argument("--work", type=Path, default=Path("/tmp/rempart-ab"))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    tools: list[tuple[str, dict[str, str] | None]] = [("rempart (this tree)", None)]
    for src in args.baseline:
        tools.append((f"rempart ({src})", {**os.environ, "PYTHONPATH": str(src)}))
    if not args.no_file:
        tools.append(("file -b", None))
    print(f"load before: {os.getloadavg()}")
    res: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(args.runs):
        for tree in args.trees:
            for name, env in tools:
                if name == "file -b":
                    q = shlex.quote(str(tree))
                    cmd = ["sh", "-c", f"find {q} -type f -print0 | xargs -0 -n 200 -P 2 file -b"]
                else:
                    cmd = scan_cmd(tree, fresh_store(args.work / "ab.db"))
                res.setdefault((tree.name, name), []).append(timed(cmd, env))
    print(f"load after: {os.getloadavg()}\n")
    print("| tree | tool | median wall s | median CPU s | walls |")
    print("|---|---|---|---|---|")
    for (tree, name), runs in res.items():
        walls = ", ".join(f"{w:.2f}" for w, _ in runs)
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"| {tree} | {name} | {wall:.2f} | {cpu:.2f} | {walls} |")


if __name__ == "__main__":
    main()
