"""Detection over EVTX-ATTACK-SAMPLES with the whole SigmaHQ Windows rule set: rempart
(ingest into the store, then `detect`) beside a pySigma-to-SQLite baseline (Zircolite's way;
Zircolite itself is not on PyPI). One child process per run, so peak memory is per run;
the corpus is copied 1x and 4x to see how memory grows with the input.

Usage: flock /tmp/rempart-bench.lock .venv/bin/python bench/timeline/bench_detect.py
"""

from __future__ import annotations

import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SAMPLES = DATA / "evtx-attack-samples"
RULES = [DATA / "sigma" / "rules" / "windows"]


def _copies(folder: Path, k: int) -> Path:
    root = folder / f"x{k}"
    for i in range(k):
        for sample in SAMPLES.rglob("*.evtx"):
            target = root / str(i) / sample.parent.name / sample.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(sample, target)
    return root


def _rempart(root: Path) -> dict[str, object]:
    from rempart.forensics.detect import detect  # noqa: PLC0415  # measured child only
    from rempart.forensics.ingest import ingest  # noqa: PLC0415
    from rempart.forensics.sigma import load_rules  # noqa: PLC0415
    from rempart.store import open_store  # noqa: PLC0415

    engine = open_store(f"sqlite:///{root}.rempart.db")
    t0 = time.perf_counter()
    events = ingest(engine, [root], "bench", scans=False).events
    t1 = time.perf_counter()
    ruleset = load_rules(RULES)
    t2 = time.perf_counter()
    summary = detect(engine, "bench", ruleset)
    t3 = time.perf_counter()
    return {
        "events": events,
        "rules": len(ruleset.rules),
        "matches": summary.matches,
        "load_s": round(t1 - t0, 2),
        "rules_s": round(t2 - t1, 2),
        "match_s": round(t3 - t2, 2),
    }


def _baseline(root: Path) -> dict[str, object]:
    sys.path.insert(0, str(Path(__file__).parent))
    import baseline_sqlite  # noqa: PLC0415  # beside this script

    db = sqlite3.connect(":memory:")
    t0 = time.perf_counter()
    events = baseline_sqlite.load(sorted(root.rglob("*.evtx")), db)
    t1 = time.perf_counter()
    queries = baseline_sqlite.rules(RULES)
    t2 = time.perf_counter()
    matches = baseline_sqlite.run(queries, db)
    t3 = time.perf_counter()
    return {
        "events": events,
        "rules": len(queries),
        "matches": matches,
        "load_s": round(t1 - t0, 2),
        "rules_s": round(t2 - t1, 2),
        "match_s": round(t3 - t2, 2),
    }


def child(tool: str, root: str) -> None:
    start = time.perf_counter()
    result = (_rempart if tool == "rempart" else _baseline)(Path(root))
    result.update(
        tool=tool,
        input=Path(root).name,
        total_s=round(time.perf_counter() - start, 2),
        peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    print(json.dumps(result), flush=True)


def main() -> None:
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    print(json.dumps({"uptime": uptime.strip()}), flush=True)
    with tempfile.TemporaryDirectory(prefix="rempart-bench-det-") as tmp:
        for k in (1, 4):
            root = _copies(Path(tmp), k)
            for tool in ("rempart", "baseline"):
                subprocess.run([sys.executable, __file__, "--child", tool, str(root)], check=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
