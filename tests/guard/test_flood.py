"""An event flood never drops silently: the bounded queue counts what it refused."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.guard.conftest import guarding

from rempart.guard.events import Event, EventQueue, Op


def test_queue_counts_what_it_refuses_and_closes_their_fds(tmp_path: Path) -> None:
    q = EventQueue(bound=2)
    fds = [os.open(tmp_path, os.O_RDONLY) for _ in range(3)]
    accepted = [q.put(Event("test", Op.WRITE, f"/x/{i}", fd=fd)) for i, fd in enumerate(fds)]
    assert accepted == [True, True, False] and q.dropped == 1
    with pytest.raises(OSError):
        os.fstat(fds[2])  # the dropped event's fd was released
    batch = q.get_batch(0.1)
    assert [e.path for e in batch] == ["/x/0", "/x/1"]
    for e in batch:
        e.release()
    assert q.get_batch(0.01) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="fanotify needs root")
def test_flood_drops_are_reported_in_the_store(tmp_path: Path) -> None:
    root = tmp_path / "share"
    root.mkdir()
    with guarding(root, tmp_path, kill=False, queue_bound=3, place_decoys=False) as running:
        # another process: the guard ignores its own (this test's) writes
        code = f"for i in range(400): open(f'{root}/f{{i}}.txt', 'w').write('compte rendu\\n' * 20)"
        subprocess.run([sys.executable, "-c", code], check=True)
        time.sleep(0.5)
    summary = running.summary
    assert summary is not None and summary.dropped_queue > 0
    assert summary.events + summary.dropped_queue >= 400
    con = sqlite3.connect(tmp_path / "guard.db")
    (dropped,) = con.execute("SELECT dropped_queue FROM guard_runs").fetchone()
    assert dropped == summary.dropped_queue
