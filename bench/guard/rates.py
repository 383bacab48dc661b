"""What the `rate` indicator sees: the most changes of existing files within its window, per
actor, for every benign workload and for attacks at full speed, 4 threads and 1 file/s.

    flock /tmp/rempart-bench.lock .venv/bin/python bench/guard/rates.py

The guard runs in this process (as in tests/guard) with no responder, so attacks run to their
end and each actor's `History.peak_changes` can be read afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rempart.guard.behaviour import RATE_CHANGES, RATE_WINDOW
from rempart.guard.engine import Guard, GuardOptions, Hooks, NoResponders
from rempart.store import open_store

BIN = str(Path(sys.executable).parent / "rempart")
KINDS = ["zip-folder", "unzip", "office-save", "photo-import", "bulk-copy", "backup"]
KINDS += ["compress-logs", "to-pdf", "git-checkout"]
ATTACKS = {
    "in-place full": ["--behaviour", "in-place"],
    "in-place 4 threads": ["--behaviour", "in-place", "--threads", "4"],
    "copy-delete full": ["--behaviour", "copy-delete", "--extension", "append"],
    "rename-write full": ["--behaviour", "rename-write", "--extension", "append"],
}


def peaks(guard: Guard, pid: int) -> int:
    state = guard.scorer.actors.get(f"process:{pid}")
    return state.history.peak_changes if state is not None else 0


def main() -> None:
    # no options: this only answers --help instead of starting the benchmark
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rg-rates-"))
    try:
        base = tmp / "base"
        cmd = [BIN, "exercise", "build", str(base), "--files", "200", "--seed", "7"]
        subprocess.run(cmd, check=True, capture_output=True)
        root = tmp / "watched"
        # copied before the guard starts: its baseline must know them (and the guard ignores
        # its own process's writes)
        shutil.copytree(base, root / "benign", symlinks=True)
        for k in range(len(ATTACKS)):
            shutil.copytree(base, root / f"attack{k}", symlinks=True)
        engine = open_store(f"sqlite:///{tmp / 'g.db'}")
        ready = threading.Event()
        guard = Guard(
            engine,
            GuardOptions(root, place_decoys=False),
            NoResponders(),
            Hooks(ready=lambda _l: ready.set()),
        )
        thread = threading.Thread(target=guard.run, daemon=True)
        thread.start()
        assert ready.wait(60)
        print("load before:", os.getloadavg())
        print(f"rate indicator: {RATE_CHANGES} changes within {RATE_WINDOW:g} s")
        print("| actor | peak changes within the window |")
        print("| --- | ---: |")
        share = root / "benign"
        for kind in KINDS:
            cmd = [BIN, "exercise", "workload", str(share), "--kind", kind, "--limit", "200"]
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            p.wait(600)
            time.sleep(1.0)  # the guard's last events
            print(f"| benign {kind} | {peaks(guard, p.pid)} |", flush=True)
        for k, (name, extra) in enumerate(ATTACKS.items()):
            share = root / f"attack{k}"
            cmd = [BIN, "exercise", "attack", str(share), "--seed", "3", *extra]
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            p.wait(600)
            time.sleep(1.0)
            print(f"| attack {name} | {peaks(guard, p.pid)} |", flush=True)
        guard.stop()
        thread.join(30)
        print("load after:", os.getloadavg())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
