"""`GuardOutput` (tests/e2e/_guard_output.py) loses nothing the guard prints."""

from __future__ import annotations

import subprocess
import sys

from _guard_output import GuardOutput  # tests/e2e is on sys.path (rootdir-relative imports)

_CHILD = """
import signal, sys, threading
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print("watching", flush=True)
for i in range(5000):
    print(f"line {i}")
sys.stdout.flush()
stop.wait(30)
print("stopped")
"""


def test_nothing_printed_after_the_first_line_is_lost() -> None:
    # a burst right after the first line (what a read-ahead buffer swallows), then a last
    # line when SIGTERM stops it, as the guard prints its summary
    proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, text=True)
    out = GuardOutput(proc)
    assert out.first() == "watching\n"
    said = out.stop().splitlines()
    assert said == ["watching", *(f"line {i}" for i in range(5000)), "stopped"]
