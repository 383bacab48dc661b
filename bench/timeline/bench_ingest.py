"""Ingest throughput and memory: `timeline ingest` on growing inputs, one process per size.

Inputs (built in a temporary folder, never in the project):
- evtx: the EVTX-ATTACK-SAMPLES corpus linked K times (distinct paths, so distinct sources);
- samba: a generated vfs_full_audit log of N records (the format of a busy file server).

Prints one JSON line per run: kind, size, events, seconds, events/s, peak RSS (MiB).
Usage: flock /tmp/rempart-bench.lock .venv/bin/python bench/timeline/bench_ingest.py
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "evtx-attack-samples"


def _evtx_input(folder: Path, copies: int) -> Path:
    root = folder / f"evtx-{copies}"
    root.mkdir()
    for i in range(copies):
        for sample in SAMPLES.rglob("*.evtx"):
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


def child(kind: str, path: str) -> None:
    from rempart.forensics.ingest import ingest  # noqa: PLC0415  # in the measured child only
    from rempart.store import open_store  # noqa: PLC0415  # same

    db = Path(path).parent / f"{Path(path).name}.db"
    engine = open_store(f"sqlite:///{db}")
    start, cpu = time.perf_counter(), time.process_time()
    summary = ingest(engine, [Path(path)], "bench", scans=False)
    seconds = time.perf_counter() - start
    # CPU seconds beside wall seconds: the machine is shared, a busy neighbour slows the wall.
    cpu = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "kind": kind,
                "input": Path(path).name,
                "events": summary.events,
                "seconds": round(seconds, 2),
                "events_per_s": round(summary.events / seconds),
                "cpu_s": round(cpu, 2),
                "events_per_cpu_s": round(summary.events / cpu),
                "peak_rss_mib": round(peak, 1),
            }
        )
    )


def main() -> None:
    print(
        json.dumps(
            {
                "uptime": subprocess.run(
                    ["uptime"], capture_output=True, text=True, check=False
                ).stdout.strip()
            }
        )
    )
    with tempfile.TemporaryDirectory(prefix="rempart-bench-tl-") as tmp:
        folder = Path(tmp)
        runs = [("evtx", _evtx_input(folder, k)) for k in (1, 4, 16)]  # 6k, 24k, 96k events
        runs += [("samba", _samba_input(folder, n)) for n in (50_000, 200_000, 800_000)]
        for kind, path in runs:
            subprocess.run([sys.executable, __file__, "--child", kind, str(path)], check=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
