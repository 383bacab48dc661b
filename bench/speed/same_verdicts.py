"""Check that two versions of rempart give every file the same verdict, family and evidence.

    .venv/bin/python bench/speed/same_verdicts.py TREE... --baseline /tmp/old/src

Scans each tree with this tree's rempart and with the baseline `src` (same CLI command as
bench/scan_speed.py, plus --jsonl), then compares the JSONL records file by file: verdict,
family, format, size and evidence strings. Exit status 1 and the first differences listed
when anything differs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from _corpus import fresh_store, scan_cmd  # noqa: E402  # bench scripts are not a package

FIELDS = ("verdict", "family", "format", "size", "evidence")


def records(tree: Path, work: Path, tag: str, env: dict[str, str] | None) -> dict[str, dict]:
    out = work / f"{tree.name}-{tag}.jsonl"
    cmd = scan_cmd(tree, fresh_store(work / f"{tree.name}-{tag}.db"), out)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"scan failed ({done.returncode}): {done.stderr[-2000:]}")
    rows = {}
    with out.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            rows[rec["path"]] = {k: rec.get(k) for k in FIELDS}
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("trees", nargs="+", type=Path)
    ap.add_argument("--baseline", type=Path, required=True, help="src folder of the reference")
    ap.add_argument("--work", type=Path, default=Path("/tmp/rempart-same"))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    old_env = {**os.environ, "PYTHONPATH": str(args.baseline)}
    bad = 0
    for tree in args.trees:
        new = records(tree, args.work, "new", None)
        old = records(tree, args.work, "old", old_env)
        diffs = [p for p in sorted(old.keys() | new.keys()) if old.get(p) != new.get(p)]
        print(f"{tree}: {len(new):,} files (baseline {len(old):,}), {len(diffs)} differ")
        for p in diffs[:20]:
            print(f"  {p}\n    before: {old.get(p)}\n    now:    {new.get(p)}")
        bad += len(diffs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
