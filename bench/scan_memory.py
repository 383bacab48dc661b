"""Peak memory of `rempart scan` as the tree grows: tiny files, 10k to 1M.

    .venv/bin/python bench/scan_memory.py --sizes 10000 100000 1000000 --dir /tmp/rempart-mem

Builds (once, kept between runs) trees of tiny text files spread over 1,000 files per folder,
scans each with 2 workers and no hashing into a fresh SQLite store, and prints peak RSS of the
whole process tree and of its largest process, with the wall time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _procmem import run_measured

RE = str(Path(sys.executable).parent / "rempart")


def build(root: Path, n: int) -> None:
    marker = root / ".complete"
    if marker.exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    for i in range(n):
        if i % 1000 == 0:
            d = root / f"d{i // 100_000:02d}" / f"s{i // 1000:04d}"
            d.mkdir(parents=True)
        (d / f"f{i:07d}.txt").write_bytes(b"compte rendu %d\n" % i)
    marker.write_text("ok")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--dir", type=Path, default=Path("/tmp/rempart-mem"))
    ap.add_argument("--workers", default="2")
    args = ap.parse_args()
    print(f"{'files':>9} {'wall s':>8} {'files/s':>9} {'tree peak MB':>13} {'largest MB':>11}")
    for n in args.sizes:
        root = args.dir / f"tree-{n}"
        build(root, n)
        db = args.dir / f"store-{n}.db"
        for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            p.unlink(missing_ok=True)
        cmd = [
            RE,
            "scan",
            str(root),
            "--db",
            f"sqlite:///{db}",
            "--hash",
            "none",
            "--workers",
            args.workers,
            "--json",
        ]
        res, peak, wall = run_measured(cmd, stdout=-1, stderr=-1)
        if res.returncode not in (0, 1):
            sys.exit(f"scan failed: {res.stderr.decode()[-2000:]}")
        print(
            f"{n:>9} {wall:>8.1f} {n / wall:>9.0f} {peak.tree_kib / 1024:>13.0f}"
            f" {peak.process_kib / 1024:>11.0f}",
            flush=True,
        )
        os.unlink(db)


if __name__ == "__main__":
    main()
