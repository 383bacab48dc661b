"""Problems a review found in the scanner and the CLI, kept fixed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rempart.errors import ScanError
from rempart.store import open_store
from rempart.triage import export, scanner, walk

RE = str(Path(sys.executable).parent / "rempart")


def _scan(tmp_path: Path, root: Path, **opts: object) -> dict[str, dict]:
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    run = scanner.scan(engine, root, options=scanner.ScanOptions(**opts))
    out = tmp_path / "scan.jsonl"
    export.write_jsonl(engine, run.scan_id, out)
    engine.dispose()  # the store's own connections are not what these tests count
    return {r["path"]: r for r in map(json.loads, out.read_text().splitlines())}


def test_mtime_past_2262_is_evidence_not_a_crash(tmp_path: Path) -> None:
    root = tmp_path / "share"
    root.mkdir()
    (root / "futur.txt").write_text("daté de l'an 2300")
    far = 10_413_792_000 * 10**9  # year 2300: beyond signed 64-bit nanoseconds
    os.utime(root / "futur.txt", ns=(far, far))
    if os.stat(root / "futur.txt").st_mtime_ns != far:
        pytest.skip("this filesystem does not keep dates past 2262")
    row = _scan(tmp_path, root, workers=1)["futur.txt"]
    assert row["mtime"] is None
    assert any("modification time out of range" in e for e in row["evidence"])


def test_random_files_alike_without_any_attack_are_not_a_campaign(tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    for i in range(8):  # e.g. web fonts: random-looking, one unfamiliar extension
        (root / f"police-{i}.woff9").write_bytes(os.urandom(20_000))
    rows = _scan(tmp_path, root, workers=1, hash="none")
    assert {r["verdict"] for r in rows.values()} == {"suspicious"}


def test_inline_scans_close_their_descriptors(tmp_path: Path) -> None:
    root = tmp_path / "share"
    deep = root
    for _ in range(30):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "f.txt").write_text("x")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        _scan(tmp_path, root, workers=1, hash="none")
        (tmp_path / "store.db").unlink()
    assert len(os.listdir("/proc/self/fd")) <= before + 2


def test_an_interrupted_walk_closes_its_descriptors(tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / "t" / f"d{i}" / "e").mkdir(parents=True)
    fd = walk.open_root(os.fsencode(tmp_path / "t"))
    before = len(os.listdir("/proc/self/fd"))
    walker = walk.walk(fd)
    for _ in range(5):
        next(walker)
    walker.close()  # what an exception or Ctrl-C in the caller does
    assert len(os.listdir("/proc/self/fd")) == before
    os.close(fd)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jsonl", "/nonexistent/dir/out.jsonl"], "does not exist"),
        (["--html", "/tmp"], "is a folder"),
        (["--db", "mysql://x/y"], "store URL"),
        (["--db", "/etc/passwd"], "cannot open the incident store"),
        (["--incident", "x" * 200], "1 to 120 characters"),
    ],
)
def test_user_mistakes_exit_2_with_a_message_before_scanning(
    tmp_path: Path, args: list[str], message: str
) -> None:
    root = tmp_path / "share"
    root.mkdir()
    (root / "a.txt").write_text("x")
    full = ["scan", str(root), *args]
    if "--db" not in args:
        full += ["--db", f"sqlite:///{tmp_path}/s.db"]
    proc = subprocess.run([RE, *full], capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_dead_worker_stops_the_scan_cleanly_and_resume_finishes(tmp_path: Path) -> None:
    root = tmp_path / "share"
    for i in range(6000):
        d = root / f"d{i % 30}"
        if i < 30:
            d.mkdir(parents=True)
        (d / f"f{i}.txt").write_text(f"ligne {i}\n" * 50)
    db = tmp_path / "s.db"
    cmd = [RE, "scan", str(root), "--db", f"sqlite:///{db}", "--workers", "2", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    children: list[int] = []
    while not children and time.monotonic() < deadline:
        try:
            tasks = Path(f"/proc/{proc.pid}/task").iterdir()
            children = [int(c) for t in tasks for c in (t / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.02)
    if not children:
        proc.kill()
        pytest.skip("the scan finished before a worker could be killed")
    os.kill(children[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    if proc.returncode in (0, 1):
        pytest.skip("the scan finished before the worker died")
    assert proc.returncode == 2, err
    assert "worker process died" in err and "--resume" in err
    assert "Traceback" not in err
    done = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, check=False)
    assert done.returncode in (0, 1), done.stderr
    assert json.loads(done.stdout)["files"] == 6000


def test_scan_error_is_the_library_exception() -> None:
    assert issubclass(ScanError, Exception)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another owner")
def test_a_file_read_without_noatime_says_so(tmp_path: Path) -> None:
    root = tmp_path / "share"
    root.mkdir()
    (root / "autre.txt").write_text("appartient à quelqu'un d'autre")
    os.chown(root / "autre.txt", 65534, 65534)
    out = tmp_path / "out.jsonl"
    proc = subprocess.run(
        ["setpriv", "--bounding-set=-fowner", "--", RE, "scan", str(root), "--workers", "1",
         "--db", f"sqlite:///{tmp_path}/s.db", "--jsonl", str(out), "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    row = json.loads(out.read_text())
    assert row["verdict"] == "intact"
    assert any("access time may change" in e for e in row["evidence"])
