"""Ctrl-C or kill -9 in the middle of a scan, then --resume: no file lost, none counted twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

RE = str(Path(sys.executable).parent / "rempart")
FILES = 12_000


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("resume") / "share"
    for i in range(FILES):
        d = root / f"dept-{i % 12}" / f"{2010 + i % 15}"
        if i < 180:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"fichier-{i}.txt").write_text(f"Délibération n°{i}\n" * (1 + i % 40))
    return root


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("select count(*) from scan_files").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _start(tree: Path, db: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [RE, "scan", str(tree), "--db", f"sqlite:///{db}", "--workers", "2", "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _interrupt_midway(proc: subprocess.Popen[str], db: Path, sig: int) -> None:
    deadline = time.monotonic() + 60
    while _stored(db) < 2000:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "scan did not store files in time"
        time.sleep(0.05)
    workers = _children(proc.pid)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    # No worker outlives the scan, kill -9 included (they would hold the tree open).
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() and not _zombie(pid) for pid in workers):
        assert time.monotonic() < deadline, f"workers {workers} outlived the scan"
        time.sleep(0.05)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_interrupt_then_resume_loses_nothing_and_counts_nothing_twice(
    tree: Path, tmp_path: Path, sig: int
) -> None:
    db = tmp_path / "store.db"
    proc = _start(tree, db)
    _interrupt_midway(proc, db, sig)
    if sig == signal.SIGINT:
        err = proc.stderr.read()
        assert proc.returncode == 130, err
        assert "--resume" in err
    partial = _stored(db)
    assert 0 < partial < FILES, "interrupt came too late to test anything"
    out = tmp_path / "scan.jsonl"
    done = subprocess.run(
        [
            RE,
            "scan",
            str(tree),
            "--db",
            f"sqlite:///{db}",
            "--workers",
            "2",
            "--json",
            "--resume",
            "--jsonl",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "done"
    assert summary["files"] == FILES
    paths = [json.loads(line)["path"] for line in out.read_text().splitlines()]
    assert len(paths) == len(set(paths)) == FILES
    expected = {
        os.path.relpath(os.path.join(d, f), tree) for d, _, files in os.walk(tree) for f in files
    }
    assert set(paths) == expected


def test_resume_without_an_unfinished_scan_is_a_clear_error(tree: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [RE, "scan", str(tree / "dept-1"), "--db", f"sqlite:///{tmp_path}/s.db", "--resume"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "no unfinished scan" in proc.stderr
    assert "Traceback" not in proc.stderr
