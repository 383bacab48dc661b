"""Benchmark of `rempart guard`: files lost to `exercise attack` before the attack was stopped,
detection-to-response latency, and, for every benign workload, alarms and the guard's CPU.

    flock /tmp/rempart-bench.lock .venv/bin/python bench/guard/run.py [--runs 5] [--quick]

One guard (`--respond stop-process`, real fanotify) watches a folder holding one copy of a
practice share per attack run; attacks run one after another, each on its own copy. Files
lost = real files the attack had started on when it died (its journal; decoys not counted).
Latency = stop-process response time minus alarm time (both from the store).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

BIN = str(Path(sys.executable).parent / "rempart")
LAYOUTS = ["full", "full-trailer", "head4k", "runs128k", "lockfile", "blackbasta", "akira"]
LAYOUTS += ["magic-kept", "xor"]
BEHAVIOURS = ["in-place", "copy-delete", "rename-write"]
PACES = {"full": [], "4-threads": ["--threads", "4"], "slow-1/s": ["--rate", "1"]}
KINDS = ["zip-folder", "unzip", "office-save", "photo-import", "bulk-copy", "backup"]
KINDS += ["compress-logs", "to-pdf", "git-checkout"]


def lost(share: Path) -> int:
    journal = share / ".rempart-exercise" / "journal.jsonl"
    if not journal.exists():
        return 0
    n = 0
    for line in journal.read_text().splitlines():
        r = json.loads(line)
        if r.get("op") == "file" and not os.path.basename(r["path"]).startswith(("!0000", "~~~~")):
            n += 1
    return n


#: --no-tripwire / --no-reads: the guard without the decoy freeze / without watching reads,
#: for a before/after in one session
TRIPWIRE = {"on": True}


def start_guard(root: Path, db: Path, respond: list[str]) -> subprocess.Popen[str]:
    cmd = [BIN, "guard", str(root), "--db", str(db)]
    if not TRIPWIRE["on"]:
        cmd.append("--no-tripwire")
    if not TRIPWIRE.get("reads", True):
        cmd.append("--no-reads")
    for r in respond:
        cmd += ["--respond", r]
    # its output goes to a file: a pipe nobody drains would block the guard once full
    log = db.with_suffix(".log")
    with log.open("w") as out:
        g = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not log.read_text().startswith("watching"):
        assert g.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    g.args = log  # where stop_guard finds the output
    return g


def stop_guard(g: subprocess.Popen[str]) -> str:
    g.terminate()
    g.wait(timeout=60)
    return Path(g.args).read_text()  # type: ignore[arg-type]


def attacks(
    base: Path, work: Path, runs: int, quick: bool, paces: list[str], notes: Path | None
) -> list[dict[str, object]]:
    grid = []
    # every layout at every pace (in place), then every behaviour at every pace (mixed layouts)
    for layout in LAYOUTS if paces == list(PACES) else []:
        for pace in paces:
            for order in ("alpha", "random"):
                n = 1 if pace == "slow-1/s" and order == "alpha" else max(1, runs // 2)
                grid += [(layout, "in-place", pace, order, i) for i in range(n)]
    for behaviour in BEHAVIOURS:
        for pace in paces:
            for order in ("alpha", "random"):
                n = 2 if (quick or pace == "slow-1/s") and order == "alpha" else runs
                grid += [("mixed", behaviour, pace, order, i) for i in range(n)]
    for k in range(len(grid)):
        shutil.copytree(base, work / f"s{k:03d}", symlinks=True)
    db = work.parent / "bench.db"
    guard = start_guard(work, db, ["stop-process"])
    results = []
    try:
        for k, (layout, behaviour, pace, order, i) in enumerate(grid):
            share = work / f"s{k:03d}"
            cmd = [BIN, "exercise", "attack", str(share), "--seed", str(100 + i)]
            cmd += ["--layout", layout, "--behaviour", behaviour, "--order", order, *PACES[pace]]
            if behaviour != "in-place":
                cmd += ["--extension", "append"]
            if notes is not None:  # a harmless text as the "note": judged on content only
                cmd += ["--notes-dir", str(notes), "--family", "plain"]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
            results.append(
                {
                    "layout": layout,
                    "behaviour": behaviour,
                    "pace": pace,
                    "order": order,
                    "lost": lost(share),
                    "stopped": p.returncode < 0,
                }
            )
    finally:
        out = stop_guard(guard)
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT a.at, r.at FROM guard_alarms a JOIN guard_responses r "
        "ON r.actor_key = a.actor_key AND r.responder = 'stop-process'"
    ).fetchall()
    lat = [
        (datetime.fromisoformat(r) - datetime.fromisoformat(a)).total_seconds() * 1000
        for a, r in rows
    ]
    rates = max_rates(con, top=3)
    return [{"results": results, "latency_ms": lat, "guard": out[-2000:], "rates": rates}]


def benign(base: Path, work: Path) -> list[dict[str, object]]:
    share = work / "benign"
    shutil.copytree(base, share, symlinks=True)
    db = work / "benign.db"  # a fresh store per run (was beside the temporary folder)
    # stop-process on: the tripwire is live, so a freeze of a benign workload would show
    guard = start_guard(share, db, ["stop-process"])
    out = []
    con = sqlite3.connect(db)
    try:
        for kind in KINDS:
            before = con.execute("SELECT count(*) FROM guard_alarms").fetchone()[0]
            cpu0 = _cpu(guard.pid)
            t0 = time.monotonic()
            cmd = [BIN, "exercise", "workload", str(share), "--kind", kind, "--limit", "200"]
            subprocess.run(cmd, capture_output=True, timeout=600, check=True)
            wall = time.monotonic() - t0
            time.sleep(0.5)  # the guard's last events
            after = con.execute("SELECT count(*) FROM guard_alarms").fetchone()[0]
            out.append(
                {
                    "kind": kind,
                    "guard_cpu_s": round(_cpu(guard.pid) - cpu0, 2),
                    "workload_s": round(wall, 2),
                    "alarms": after - before,
                }
            )
    finally:
        text = stop_guard(guard)
    alarms = con.execute("SELECT actor_key, reasons FROM guard_alarms").fetchall()
    # the margin: the benign actors closest to the threshold, and what gave them points
    top = con.execute(
        "SELECT actor_key, round(sum(points), 2), count(*) FROM guard_events "
        "WHERE points > 0 GROUP BY actor_key ORDER BY 2 DESC LIMIT 8"
    ).fetchall()
    why = con.execute(
        "SELECT reasons, count(*) FROM guard_events WHERE points > 0 "
        "GROUP BY substr(reasons, 1, 30) ORDER BY 2 DESC LIMIT 10"
    ).fetchall()
    rates = max_rates(con)
    trips = [line for line in text.splitlines() if line.startswith("tripwire")]
    return [
        {
            "workloads": out,
            "alarms": alarms,
            "tripwire": trips,
            "guard": text[-500:],
            "top": top,
            "why": why,
            "rates": rates,
        }
    ]


def max_rates(con: sqlite3.Connection, top: int = 5) -> list[tuple[str, int]]:
    """The actors with the most writes+renames+deletes within one second (upper bound of what
    the `rate` indicator counts: it counts only files that existed), most first."""
    rows = con.execute(
        "SELECT actor_key, at FROM guard_events WHERE op IN ('write', 'rename', 'delete') "
        "ORDER BY actor_key, at"
    ).fetchall()
    best: dict[str, int] = {}
    times: list[float] = []
    for k, (actor, at) in enumerate(rows):
        if k == 0 or rows[k - 1][0] != actor:
            times, lo = [], 0
        times.append(datetime.fromisoformat(at).timestamp())
        while times[-1] - times[lo] > 1.0:
            lo += 1
        best[actor] = max(best.get(actor, 0), len(times) - lo)
    return sorted(best.items(), key=lambda kv: -kv[1])[:top]


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--benign-only", action="store_true", help="Only the benign workloads.")
    ap.add_argument("--pace", action="append", choices=list(PACES), help="Only these paces.")
    ap.add_argument(
        "--plain-notes",
        action="store_true",
        help="The attack drops a harmless text instead of a ransom note (no note points).",
    )
    ap.add_argument("--attacks-only", action="store_true", help="Skip the benign workloads.")
    ap.add_argument(
        "--no-tripwire", action="store_true", help="Guard without the decoy freeze (before/after)."
    )
    ap.add_argument(
        "--no-reads", action="store_true", help="Guard without watching reads (before/after)."
    )
    args = ap.parse_args()
    TRIPWIRE["on"] = not args.no_tripwire
    TRIPWIRE["reads"] = not args.no_reads
    tmp = Path(tempfile.mkdtemp(prefix="rg-bench-"))
    try:
        base = tmp / "base"
        subprocess.run(
            [BIN, "exercise", "build", str(base), "--files", str(args.files), "--seed", "7"],
            check=True,
            capture_output=True,
        )
        (tmp / "work").mkdir()
        print("load before:", os.getloadavg())
        notes = None
        if args.plain_notes:
            notes = tmp / "notes"
            (notes / "plain").mkdir(parents=True)
            text = "Minutes of the council meeting, see the attached agenda.\n" * 5
            (notes / "plain" / "README.txt").write_text(text)
        if not args.benign_only:
            paces = args.pace or list(PACES)
            a = attacks(base, tmp / "work", args.runs, args.quick, paces, notes)[0]
            print("load after the attacks:", os.getloadavg(), flush=True)
            report_attacks(a)
        if args.attacks_only:
            return
        b = benign(base, tmp)[0]
        print("load after:", os.getloadavg())
        report_benign(b)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report_attacks(a: dict[str, object]) -> None:
    results = a["results"]
    assert isinstance(results, list)
    groups: dict[tuple[str, str, str, str], list[int]] = {}
    for r in results:
        groups.setdefault((r["layout"], r["behaviour"], r["pace"], r["order"]), []).append(
            r["lost"]
        )
    print("| layout | behaviour | pace | order | runs | lost median | lost max |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: |")
    for (layout, behaviour, pace, order), lost_ in groups.items():
        print(
            f"| {layout} | {behaviour} | {pace} | {order} | {len(lost_)} | "
            f"{statistics.median(lost_):g} | {max(lost_)} |"
        )
    allv = [r["lost"] for r in results]
    print(
        f"all attack runs: {len(allv)}, lost median {statistics.median(allv):g}, max {max(allv)}, "
        f"stopped {sum(1 for r in results if r['stopped'])}"
    )
    lat = sorted(a["latency_ms"])  # type: ignore[arg-type]
    if lat:
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        print(
            f"detection-to-response latency: n={len(lat)}, median {statistics.median(lat):.1f} ms, "
            f"p95 {p95:.1f} ms, max {lat[-1]:.1f} ms"
        )
    print("most changes within 1 s by an attacker:", a["rates"])
    sys.stdout.flush()


def report_benign(b: dict[str, object]) -> None:
    print("| workload | files | alarms | guard CPU s | workload wall s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for w in b["workloads"]:  # type: ignore[union-attr]
        print(f"| {w['kind']} | <=200 | {w['alarms']} | {w['guard_cpu_s']} | {w['workload_s']} |")
    print("benign alarms:", b["alarms"])
    print("tripwire lines:", b["tripwire"])
    print("benign actors with the most points (actor, points, events):", b["top"])
    print("their reasons (first reasons of an event, events):", b["why"])
    print("most changes (write/rename/delete) within 1 s, per actor:", b["rates"])


if __name__ == "__main__":
    main()
