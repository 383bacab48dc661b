"""Ingest throughput and memory: `timeline ingest` on growing inputs, one process per size.

Inputs (built in a temporary folder, never in the project):
- evtx: the EVTX-ATTACK-SAMPLES corpus copied K times (distinct paths, so distinct sources);
- evtx-large: only its samples of 500 records or more, copied K times (per-event speed on the
  largest logs there are, with less per-file cost);
- samba: a generated vfs_full_audit log of N records (the format of a busy file server).

Each run is in a child process, in a mode: `inline` (parsed and stored in the ingesting
process), `workers` (two worker processes that each parse and store), `auto` (what
`rempart timeline ingest` picks), `cli` (the command itself, `rempart timeline ingest DIR
--no-scans --json`, start-up included: its own line gives the wall time of the whole command
and the `seconds` the command reports for the ingest alone).
`--before DIR`: also run each input with the rempart sources in DIR (e.g. the last commit:
`git archive HEAD src | tar -x -C DIR`), in its `auto` mode (shown as `before`), for a
comparison in the same session.

Prints one JSON line per run: kind, mode, events, seconds, events/s, CPU seconds of the
process and of its worker processes, peak RSS (MiB) of the process and of its largest worker.
Usage: flock /tmp/rempart-bench.lock .venv/bin/python bench/timeline/bench_ingest.py [--before DIR]
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "evtx-attack-samples"


def _records(path: Path) -> int:
    from evtx import PyEvtxParser  # noqa: PLC0415  # only to pick the samples

    try:
        return sum(1 for _ in PyEvtxParser(str(path), 1).records_json())
    except (OSError, RuntimeError):  # the corpus holds a few damaged samples
        return 0


def _evtx_input(folder: Path, copies: int, min_records: int = 0) -> Path:
    root = folder / (f"evtx-{copies}" if not min_records else f"evtx-large-{copies}")
    root.mkdir()
    samples = sorted(SAMPLES.rglob("*.evtx"))
    if min_records:
        samples = [s for s in samples if _records(s) >= min_records]
    for i in range(copies):
        for sample in samples:
            # Copies, not links: a link resolves to the same file, which ingest rightly skips.
            shutil.copy(sample, root / f"{i}-{sample.parent.name}-{sample.name}")
    return root


def _samba_input(folder: Path, records: int) -> Path:
    path = folder / f"smbd-{records}.log"
    with path.open("w") as out:
        for i in range(records):
            second = f"{(i // 1000) % 60:02d}"
            out.write(
                f"[2026/11/21 23:{(i // 60000) % 60:02d}:{second}.{i % 1000:06d},  1] "
                "../../source3/modules/vfs_full_audit.c:1234(do_log)\n"
            )
            out.write(
                f"  10.0.{i % 7}.{i % 250}|agent{i % 13}|PC{i % 40}|share|pwrite_send|ok|"
                f"/srv/share/dossier{i % 300}/fichier{i}.docx\n"
            )
    return path


def child(kind: str, mode: str, path: str) -> None:
    from rempart.forensics.ingest import ingest  # noqa: PLC0415  # in the measured child only
    from rempart.store import open_store  # noqa: PLC0415  # same

    db = Path(path).parent / f"{Path(path).name}-{mode}.db"
    engine = open_store(f"sqlite:///{db}")
    options = {"inline": {"worker": False}, "workers": {"worker": True}}.get(mode, {})
    start, cpu = time.perf_counter(), time.process_time()
    summary = ingest(engine, [Path(path)], "bench", scans=False, **options)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    # CPU seconds beside wall seconds: the machine is shared, a busy neighbour slows the wall.
    cpu = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = children.ru_utime + children.ru_stime
    print(
        json.dumps(
            {
                "kind": kind,
                "mode": mode,
                "input": Path(path).name,
                "events": summary.events,
                "seconds": round(seconds, 2),
                "events_per_s": round(summary.events / seconds),
                "cpu_s": round(cpu, 2),
                "parser_cpu_s": round(child_cpu, 2),
                "events_per_cpu_s": round(summary.events / (cpu + child_cpu)),
                "peak_rss_mib": round(peak, 1),
                "parser_peak_rss_mib": round(children.ru_maxrss / 1024, 1),
            }
        ),
        flush=True,
    )


def cli(kind: str, path: str) -> None:
    """The command a user runs, timed from outside (Python start-up and imports included)."""
    db = Path(path).parent / f"{Path(path).name}-cli.db"
    rempart = Path(sys.executable).parent / "rempart"
    command = [str(rempart), "timeline", "ingest", path, "--incident", "bench", "--no-scans"]
    start = time.perf_counter()
    done = subprocess.run(
        [*command, "--db", f"sqlite:///{db}", "--json"], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: warnings (the corpus holds damaged samples)
        raise SystemExit(f"rempart failed: {done.stderr}")
    summary = json.loads(done.stdout)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command and its workers
    cpu = usage.ru_utime + usage.ru_stime
    print(
        json.dumps(
            {
                "kind": kind,
                "mode": "cli",
                "input": Path(path).name,
                "events": summary["events"],
                "seconds": round(seconds, 2),
                "events_per_s": round(summary["events"] / seconds),
                "ingest_seconds": summary["seconds"],
                "ingest_events_per_s": round(summary["events"] / summary["seconds"]),
                "cpu_s": round(cpu, 2),
                "events_per_cpu_s": round(summary["events"] / cpu),
                "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            }
        ),
        flush=True,
    )


def _uptime() -> None:
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    print(json.dumps({"uptime": uptime.strip()}), flush=True)


def main() -> None:
    before = sys.argv[2] if len(sys.argv) == 3 and sys.argv[1] == "--before" else None
    _uptime()
    with tempfile.TemporaryDirectory(prefix="rempart-bench-tl-") as tmp:
        folder = Path(tmp)
        evtx16, large = _evtx_input(folder, 16), _evtx_input(folder, 16, min_records=500)
        runs = [
            ("evtx", _evtx_input(folder, 1), ["auto"]),
            ("evtx", _evtx_input(folder, 4), ["auto"]),  # memory: x4 beside x16
            ("evtx", evtx16, ["inline", "workers", "auto", "cli"]),
            ("evtx-large", large, ["inline", "workers"]),
            ("samba", _samba_input(folder, 200_000), ["inline", "workers"]),
            ("samba", _samba_input(folder, 800_000), ["auto"]),
        ]
        for kind, path, modes in runs:
            for mode in modes:
                command = [sys.executable, __file__, "--child", kind, mode, str(path)]
                subprocess.run(command, check=True)
            if before:
                env = {**os.environ, "PYTHONPATH": str(Path(before) / "src")}
                command = [sys.executable, __file__, "--child", kind, "before", str(path)]
                subprocess.run(command, check=True, env=env)
        _uptime()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child" and sys.argv[3] == "cli":
        cli(sys.argv[2], sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
