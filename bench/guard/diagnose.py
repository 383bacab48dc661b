"""Why a multi-threaded attack costs more files: one guard in this process, timed per event.

    flock /tmp/rempart-bench.lock .venv/bin/python bench/guard/diagnose.py [--runs 3]
        [--threads 4] [--order random] [--behaviour in-place] [--quiet-notes]

For every attack run it prints: the attacker's PID against the PIDs fanotify reported (tgid
vs tid), the time from the first damaged close-write to the alarm, the queue backlog behind
each event, the time spent in content analysis per write, files lost (journal), and whether
every thread of the attacker was stopped (state of /proc/PID/task/* right after SIGSTOP).
`--quiet-notes` makes the attack drop a harmless text as its "note" (no ransom-note points):
the content-only path.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from run import BIN, lost

from rempart.guard import engine as gengine
from rempart.guard.events import Event, Op
from rempart.guard.respond import _procs, build_dispatcher
from rempart.store import open_store

TRACE: list[dict[str, Any]] = []
STOPS: list[dict[str, Any]] = []


def instrument(g: gengine.Guard) -> None:
    one, update = g._one, g.baseline.apply

    def timed_one(ev: Event) -> None:
        t0 = time.monotonic()
        backlog = len(g.queue)
        one(ev)
        rec = {
            "path": ev.path[-40:],
            "op": ev.op.value,
            "pid": ev.pid,
            "at": ev.at,
            "start": t0,
            "backlog": backlog,
        }
        rec["end"] = time.monotonic()
        rec["analysis"] = getattr(g, "_last_analysis", 0.0)
        st = g.scorer.actors.get(f"process:{ev.pid}") if ev.pid else None
        rec["score"] = st.score if st else None
        TRACE.append(rec)

    def timed_update(ev: Event) -> Any:
        t0 = time.monotonic()
        out = update(ev)
        g._last_analysis = time.monotonic() - t0  # type: ignore[attr-defined]
        return out

    g._one = timed_one  # type: ignore[method-assign]
    g.baseline.apply = timed_update  # type: ignore[method-assign]
    freeze = _procs.freeze_tree

    def watched_freeze(pid: int, **kw: Any) -> list[int]:
        t = time.monotonic()
        frozen = freeze(pid, **kw)
        states = {}
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                states[task.name] = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        STOPS.append({"pid": pid, "at": t, "tasks": states})
        return frozen

    _procs.freeze_tree = watched_freeze


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--order", default="random")
    ap.add_argument("--behaviour", default="in-place")
    ap.add_argument("--files", type=int, default=120)
    ap.add_argument("--quiet-notes", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rg-diag-"))
    try:
        base = tmp / "base"
        cmd = [BIN, "exercise", "build", str(base), "--files", str(args.files), "--seed", "7"]
        subprocess.run(cmd, check=True, capture_output=True)
        notes = tmp / "notes" / "plain"
        notes.mkdir(parents=True)
        (notes / "README.txt").write_text("Minutes of the council meeting, see attached.\n" * 5)
        work = tmp / "work"
        work.mkdir()
        for k in range(args.runs):
            shutil.copytree(base, work / f"s{k}", symlinks=True)
        print("load before:", os.getloadavg())
        url = f"sqlite:///{tmp / 'diag.db'}"
        disp = build_dispatcher(None, ["stop-process"], store_url=url, incident=None, dry_run=False)
        opts = gengine.GuardOptions(work)
        ready = threading.Event()
        hooks = gengine.Hooks(ready=lambda _line: ready.set())
        g = gengine.Guard(open_store(url), opts, disp, hooks)
        instrument(g)
        t = threading.Thread(target=g.run, daemon=True)
        t.start()
        ready.wait(120)
        for k in range(args.runs):
            TRACE.clear()
            STOPS.clear()
            share = work / f"s{k}"
            cmd = [BIN, "exercise", "attack", str(share), "--seed", str(100 + k)]
            cmd += ["--behaviour", args.behaviour, "--order", args.order]
            cmd += ["--threads", str(args.threads)]
            if args.quiet_notes:
                cmd += ["--notes-dir", str(notes.parent), "--family", "plain"]
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            p.wait(timeout=600)
            time.sleep(0.5)
            report(p.pid, lost(share), p.returncode)
        g.stop()
        t.join(timeout=30)
        print("load after:", os.getloadavg())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(attacker: int, n_lost: int, rc: int | None) -> None:
    mine = [r for r in TRACE if r["pid"] == attacker]
    pids = sorted({r["pid"] for r in TRACE if r["pid"] is not None})
    writes = [r for r in mine if r["op"] == Op.WRITE.value]
    scored = [r for r in mine if r["score"]]
    first = scored[0]["at"] if scored else None
    stop = STOPS[0]["at"] if STOPS else None
    ana = [r["analysis"] * 1000 for r in writes]
    lag = [(r["start"] - r["at"]) * 1000 for r in mine]
    print(
        f"attacker {attacker} rc={rc} lost={n_lost}; pids seen {pids}; events {len(mine)}"
        f" (writes {len(writes)}) before stop"
    )
    if first is not None and stop is not None:
        print(f"  first scoring event seen -> SIGSTOP: {(stop - first) * 1000:.0f} ms")
    if ana:
        print(
            f"  content analysis per write: median {statistics.median(ana):.1f} ms, "
            f"max {max(ana):.1f} ms; queue wait median {statistics.median(lag):.1f} ms, "
            f"max {max(lag):.1f} ms; backlog max {max(r['backlog'] for r in mine)}"
        )
    by_op: dict[str, list[float]] = {}
    for r in mine:
        by_op.setdefault(r["op"], []).append((r["end"] - r["start"]) * 1000)
    print(
        "  time per event in the guard: "
        + ", ".join(
            f"{op} n={len(v)} median {statistics.median(v):.1f} ms sum {sum(v):.0f} ms"
            for op, v in by_op.items()
        )
    )
    t0 = mine[0]["at"] if mine else 0.0
    for r in mine[:20]:
        print(
            f"    seen +{(r['at'] - t0) * 1000:5.0f} ms, judged +{(r['end'] - t0) * 1000:5.0f} ms:"
            f" {r['op']} {r['path']} ana {r['analysis'] * 1000:.1f} ms -> score {r['score']:g}"
        )
    if stop is not None:
        print(f"    SIGSTOP +{(stop - t0) * 1000:5.0f} ms")
    for s in STOPS:
        print(f"  after SIGSTOP of {s['pid']}: task states {s['tasks']}")


if __name__ == "__main__":
    main()
