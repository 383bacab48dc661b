"""`rempart scan` beside libmagic's `file -b` on one larger practice share, clean and attacked.

    .venv/bin/python bench/scan_speed.py --files 10000 --runs 3

Both run with two processes over the same warm tree, alternating, a fresh store each run
(`rempart scan --workers 2 --hash none`; `find | xargs -P 2 file -b`). Prints a Markdown
table of median wall time, files/s and peak memory of each tool's process tree. With
`--baseline SRC` another version of rempart (its `src` folder) is timed in the same rounds.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from rempart import exercise
from triage_bench import speed, table  # bench scripts are not a package


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("/tmp/rempart-speed"))
    ap.add_argument(
        "--baseline", type=Path, help="a src folder of another rempart version, timed alongside"
    )
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    clean = args.out / "clean"
    exercise.build(clean, args.files, args.seed)
    attacked = args.out / "attacked"
    shutil.copytree(clean, attacked, symlinks=True)
    exercise.attack(attacked, layout="mixed", extension="random", seed=args.seed, durable=False)
    trees = [("clean", clean), ("attacked (mixed)", attacked)]
    rows = speed(trees, args.out, args.runs, args.baseline)
    headers = ["tree", "files", "tool", "median s", "files/s", "runs (s)", "median CPU s"]
    headers += ["peak tree", "peak proc"]
    print(table(headers, rows))
    shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    main()
