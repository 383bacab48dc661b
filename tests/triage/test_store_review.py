"""The store opened late by the scan: interruptions, failures, odd names, concurrent creation."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from rempart.triage import _persist, export, scanner

RE = str(Path(sys.executable).parent / "rempart")

# Runs the scan in a fresh process, sending itself Ctrl-C while SQLAlchemy is being
# imported by the scan (the libraries load once the workers run), then resumes.
_CUT_IMPORT = """
import os, signal, sys
from pathlib import Path
from rempart.triage import scanner

root, url = sys.argv[1:]
assert "sqlalchemy" not in sys.modules

class CutImport:
    def find_spec(self, name, path=None, target=None):
        if name == "sqlalchemy.sql.elements":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)  # acted on within the import that follows
        return None

sys.meta_path.insert(0, CutImport())
opts = scanner.ScanOptions(workers=2, hash="none")
try:
    run = scanner.scan(scanner.StoreOpener(url), Path(root), options=opts)
    print("first", run.status, run.files)
except KeyboardInterrupt:
    print("first KeyboardInterrupt")
run = scanner.scan(scanner.StoreOpener(url), Path(root), options=opts, resume=True)
print("resumed", run.status, run.files)
"""


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    with contextlib.suppress(OSError):  # the scan may end while we look
        for task in Path(f"/proc/{pid}/task").iterdir():
            found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def _tree(root: Path, dirs: int, per_dir: int) -> Path:
    for d in range(dirs):
        folder = root / f"d{d:02}"
        folder.mkdir(parents=True)
        for i in range(per_dir):
            (folder / f"f{i}.txt").write_text(f"Compte rendu {d}-{i}\n" * 3)
    return root


def test_ctrl_c_while_the_database_libraries_load_keeps_the_scan_resumable(
    tmp_path: Path,
) -> None:
    """Before: the import was cut, re-importing failed (internal error), nothing was kept."""
    root = _tree(tmp_path / "share", 30, 100)
    for d in range(30):  # rows needing no worker: held by the scan until its store opens
        (root / f"d{d:02}" / "lien").symlink_to("f0.txt")
    db = tmp_path / "s.db"
    done = subprocess.run(
        [sys.executable, "-c", _CUT_IMPORT, str(root), f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("first interrupted"), done.stdout
    assert lines[1].startswith("resumed done"), done.stdout
    first, second = int(lines[0].split()[-1]), int(lines[1].split()[-1])
    assert first >= 30  # what was held is kept
    assert first + second == 3030
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*), count(distinct path) from scan_files").fetchone() == (
            3030,
            3030,
        )
        assert con.execute("select count(*) from scans").fetchone()[0] == 1


def test_a_second_ctrl_c_still_stops_the_opening_of_the_store() -> None:
    from rempart.triage._signals import hold_sigint

    reached = []
    with pytest.raises(KeyboardInterrupt), hold_sigint(second_forces=True):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):
            reached.append(1)
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):
            reached.append(2)
    assert reached.count(1) == 1000  # the first one was held
    assert reached.count(2) < 1000  # the second one was not
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_tree_of_links_and_empty_folders_is_not_held_whole_before_the_store_opens(
    tmp_path: Path,
) -> None:
    """Rows needing no worker used to be held until the walk ended (memory, kill -9)."""
    root = tmp_path / "share"
    for d in range(6):
        folder = root / f"d{d}"
        folder.mkdir(parents=True)
        for i in range(1000):
            (folder / f"l{i}").symlink_to("nowhere")
    (root / "d0" / "seul.txt").write_text("un seul fichier\n")
    seen: list[int] = []
    opener = scanner.StoreOpener(f"sqlite:///{tmp_path / 's.db'}")
    shown = [0]

    def store() -> Engine:
        seen.append(shown[0])
        return opener()

    def progress(files: int, _size: int) -> None:
        shown[0] = files

    run = scanner.scan(
        store, root, options=scanner.ScanOptions(workers=2, hash="none"), progress=progress
    )
    assert run.files == 6001
    assert seen and seen[0] < 4000, f"the store opened after {seen[0]} rows were held"


@pytest.mark.parametrize(
    "url",
    ["sqlite:///{tmp}/a-folder.db", "postgresql://nobody@127.0.0.1:1/rempart"],
    ids=["sqlite-unwritable", "postgres-down"],
)
def test_a_store_failing_late_is_the_usual_one_line_error(tmp_path: Path, url: str) -> None:
    (tmp_path / "a-folder.db").mkdir()  # SQLite cannot open it: "unable to open database file"
    root = _tree(tmp_path / "share", 20, 150)  # more files than are queued before opening
    proc = subprocess.Popen(
        [RE, "scan", str(root), "--db", url.format(tmp=tmp_path), "--workers", "2", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers: set[int] = set()
    while proc.poll() is None:
        workers |= _children(proc.pid)
        time.sleep(0.01)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert err.startswith("error: cannot open the incident store at "), err
    assert "Traceback" not in err and "internal error" not in err
    assert out == ""
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers):  # reaped by the scan
        assert time.monotonic() < deadline, "a worker outlived the failed scan"
        time.sleep(0.05)


def test_an_unwritable_new_sqlite_store_reads_as_before(tmp_path: Path) -> None:
    """The one-step creation must not change the message of a store that cannot be opened."""
    from rempart.errors import StoreError
    from rempart.store import open_store

    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError) as caught:
        open_store(f"sqlite:///{tmp_path / 'dir.db'}")
    assert str(caught.value).startswith("cannot open the incident store at sqlite:///")
    assert "server is running" in (caught.value.hint or "")


NAMES = [
    "it's.txt",
    'say "hi".txt',
    "50%.txt",
    "%s.txt",
    "%(path)s.txt",
    "?.txt",
    "'); DROP TABLE scan_files; --.txt",
    "back\\slash.txt",
    "new\nline.txt",
    "tab\there.txt",
]


def test_odd_names_are_stored_exactly_through_the_hand_written_insert(
    tmp_path: Path, store_url: str
) -> None:
    root = tmp_path / "share"
    folder = root / 'l\'équipe "%s"'
    folder.mkdir(parents=True)
    raw = [n.encode() for n in NAMES] + [b"caf\xe9-latin1.txt", b"\xff\xfe.bin"]
    for name in raw:
        with open(os.fsencode(folder) + b"/" + name, "wb") as f:
            f.write(b"x\n")
    for i in range(300):  # enough for the pool and a late opening
        (folder / f"f{i}.txt").write_text("y\n")
    opener = scanner.StoreOpener(store_url)
    run = scanner.scan(opener, root, options=scanner.ScanOptions(workers=2, hash="none"))
    engine = opener()
    assert run.status == "done" and run.files == len(raw) + 300
    prefix = os.fsencode(folder.name) + b"/"
    with engine.connect() as conn:
        from sqlalchemy import text

        stored = {bytes(r[0]) for r in conn.execute(text("select path from scan_files"))}
        texts = {r[0] for r in conn.execute(text("select path_text from scan_files"))}
    assert {prefix + n for n in raw} <= stored
    assert 'l\'équipe "%s"/caf\\xe9-latin1.txt' in texts
    assert _persist.count_files(engine, run.scan_id) == len(raw) + 300
    assert export.summarise(engine, run.scan_id).total_files == len(raw) + 300


def test_scans_creating_the_same_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    root = _tree(tmp_path / "share", 3, 40)
    db = tmp_path / "new.db"
    procs = [
        subprocess.Popen(
            [
                RE,
                "scan",
                str(root / f"d{d:02}"),
                "--db",
                f"sqlite:///{db}",
                "--json",
                "--workers",
                "2",
                "--hash",
                "none",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for d in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert json.loads(out)["files"] == 40
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from scan_files").fetchone()[0] == 120
        assert con.execute("select count(*) from scans").fetchone()[0] == 3
        assert con.execute("select version_num from alembic_version").fetchall() == [("0006",)]


def test_an_incident_created_meanwhile_by_another_scan_is_used_not_an_error(
    store_url: str,
) -> None:
    """Scans started together into a new store: the loser of the insert got IntegrityError."""
    from sqlalchemy import event, insert

    from rempart.store import Incident, open_store

    engine = open_store(store_url)
    other = open_store(store_url)

    raced: list[bool] = []

    def meanwhile(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO incidents") and not raced:
            raced.append(True)
            with other.begin() as conn:  # the other scan wins the race
                conn.execute(insert(Incident).values(key="mairie", title="mairie"))

    event.listen(engine, "before_cursor_execute", meanwhile)
    found = _persist.incident_id(engine, "mairie")
    assert raced
    assert found == _persist.incident_id(other, "mairie")
    other.dispose()


def test_a_scan_stored_by_the_previous_writer_resumes_without_doubles(
    tmp_path: Path, store_url: str
) -> None:
    """Rows written through SQLAlchemy's insert (the writer before the tuples) and rows
    written by the driver straight must meet on the same unique key, or a resume doubles."""
    from sqlalchemy import insert, select, text

    from rempart.store import ScanDir, ScanFile, open_store
    from rempart.store.models import path_key

    root = _tree(tmp_path / "share", 3, 50)
    engine = open_store(store_url)
    inc = _persist.incident_id(engine, "default")
    scan_id = _persist.start_scan(engine, inc, os.fsencode(root), {})

    def old_row(rel: bytes) -> dict[str, object]:
        return {
            "scan_id": scan_id, "path": rel, "path_key": path_key(rel),
            "path_text": rel.decode(), "top": rel.split(b"/")[0].decode(), "verdict": "intact",
            "format": "text", "family": None, "size": 3, "mtime_ns": 0, "sha256": None,
            "evidence": "[]", "note": None, "confidence": None,
        }  # fmt: skip

    with engine.begin() as conn:  # d00 done, d01 half stored: interrupted by the old code
        conn.execute(insert(ScanFile), [old_row(b"d00/f%d.txt" % i) for i in range(50)])
        conn.execute(insert(ScanFile), [old_row(b"d01/f%d.txt" % i) for i in range(25)])
        conn.execute(
            insert(ScanDir), [{"scan_id": scan_id, "path": b"d00", "path_key": path_key(b"d00")}]
        )
    _persist.set_status(engine, scan_id, "interrupted")
    run = scanner.scan(
        engine, root, options=scanner.ScanOptions(workers=2, hash="none"), resume=True
    )
    assert (run.scan_id, run.status, run.files) == (scan_id, "done", 75)
    with engine.connect() as conn:
        paths = [bytes(p) for p in conn.scalars(select(ScanFile.path))]
        if engine.dialect.name == "sqlite":
            kinds = set(conn.scalars(text("select distinct typeof(path_key) from scan_files")))
            assert kinds == {"blob"}
    assert len(paths) == len(set(paths)) == 150


def test_a_slow_walk_opens_the_store_within_a_bounded_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few files on a slow share: the store used to open only once the walk had ended,
    and a kill -9 until then left no scan to resume."""
    from rempart.triage import walk

    root = _tree(tmp_path / "share", 8, 5)
    listed: list[bytes] = []
    real_walk = walk.walk

    def slow_walk(root_fd: int, *, batch: int = 128):  # type: ignore[no-untyped-def]
        for listing in real_walk(root_fd, batch=batch):
            listed.append(listing.rel)
            time.sleep(0.2)  # a share answering slowly
            yield listing

    monkeypatch.setattr(walk, "walk", slow_walk)
    monkeypatch.setattr(scanner, "OPEN_WITHIN", 0.5)
    opener = scanner.StoreOpener(f"sqlite:///{tmp_path / 's.db'}")
    opened_after: list[int] = []

    def store() -> Engine:
        opened_after.append(len(listed))
        return opener()

    run = scanner.scan(store, root, options=scanner.ScanOptions(workers=2, hash="none"))
    assert run.files == 40
    assert opened_after[0] < len(listed) - 2, (opened_after, len(listed))
