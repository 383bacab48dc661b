"""Logbook timings: appends (one transaction each, as the web does), verify and export.

Usage: python bench/workspace/logbook_bench.py [--entries N] [--db URL]
Prints one JSON object. SQLite in a temporary folder unless --db is given (an empty store).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rempart.store import open_store
from rempart.workspace import logbook, system_actor, transaction
from rempart.workspace.incidents import create_incident
from rempart.workspace.orgs import OrgKind, create_org


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=2000)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = open_store(url)
        op = system_actor("bench")
        with transaction(engine) as s:
            create_org(s, op, "ville", "Ville", OrgKind.TOWN)
            inc = create_incident(s, op, key="bench", title="bench", owner="ville", towns=[]).id
        t0 = time.perf_counter()
        for i in range(args.entries):
            with transaction(engine) as s:
                logbook.append(s, op, inc, f"entry {i}: server isolated, call logged", source="web")
        t_append = time.perf_counter() - t0
        t0 = time.perf_counter()
        with transaction(engine) as s:
            report = logbook.verify(s, op, inc)
        t_verify = time.perf_counter() - t0
        t0 = time.perf_counter()
        with transaction(engine) as s:
            size = len(logbook.export_jsonl(s, op, inc))
        t_export = time.perf_counter() - t0
        assert report.ok and report.entries == args.entries
        print(
            json.dumps(
                {
                    "store": engine.dialect.name,
                    "entries": args.entries,
                    "append_per_s": round(args.entries / t_append, 1),
                    "append_ms_mean": round(1000 * t_append / args.entries, 2),
                    "verify_s": round(t_verify, 3),
                    "export_jsonl_s": round(t_export, 3),
                    "export_bytes": size,
                }
            )
        )


if __name__ == "__main__":
    main()
