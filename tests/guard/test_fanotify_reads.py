"""Reads through fanotify: one event per file closed after reading, only inside the share."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rempart.guard.events import Event, EventQueue, Op
from rempart.guard.sources import SourceOptions
from rempart.guard.sources._fanotify import FanotifySource

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="fanotify needs root")

READER = "import sys\nfor p in sys.argv[1:]:\n    open(p, 'rb').read()\n"


def _reads(q: EventQueue, want: int) -> list[Event]:
    got: list[Event] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(got) < want:
        got += [e for e in q.get_batch(0.1) if e.op is Op.READ]
    time.sleep(0.2)  # and nothing more
    return got + [e for e in q.get_batch(0.1) if e.op is Op.READ]


def test_reads_inside_the_share_and_new_folders_only(tmp_path: Path) -> None:
    share, outside = tmp_path / "share", tmp_path / "outside"
    (share / "a").mkdir(parents=True)
    outside.mkdir()
    for p in (share / "a" / "x.docx", share / "y.pdf", outside / "z.txt"):
        p.write_bytes(b"content")
    q = EventQueue(1000)
    src = FanotifySource(SourceOptions(share), q)
    src.start()
    assert src.read_fd is None  # not before the guard's baseline has read the share
    src.after_baseline()
    try:
        assert src.read_fd is not None and src.unread == 0 and src.blind_spots == ""
        files = [share / "a" / "x.docx", share / "y.pdf", outside / "z.txt"]
        proc = subprocess.run([sys.executable, "-c", READER, *map(str, files)], check=True)
        assert proc.returncode == 0
        got = _reads(q, 2)
        assert sorted(e.path for e in got) == [str(share / "a" / "x.docx"), str(share / "y.pdf")]
        assert all(e.pid is not None and e.pid != os.getpid() for e in got)
        # a folder made while watching: its reads are seen too
        subprocess.run(["mkdir", str(share / "new")], check=True)
        time.sleep(0.3)
        (share / "new" / "n.xlsx").write_bytes(b"x")
        q.get_batch(0.2)
        subprocess.run([sys.executable, "-c", READER, str(share / "new" / "n.xlsx")], check=True)
        assert [e.path for e in _reads(q, 1)] == [str(share / "new" / "n.xlsx")]
    finally:
        src.stop()


def test_a_renamed_folder_names_its_files_at_the_new_path(tmp_path: Path) -> None:
    share, outside = tmp_path / "share", tmp_path / "outside"
    (share / "old" / "sub").mkdir(parents=True)
    (outside / "tree" / "deep").mkdir(parents=True)
    (outside / "tree" / "deep" / "m.odt").write_bytes(b"moved in")
    q = EventQueue(1000)
    src = FanotifySource(SourceOptions(share), q)
    src.start()
    src.after_baseline()
    try:
        (share / "old" / "sub" / "a.txt").write_bytes(b"before")  # the folders' paths cached
        time.sleep(0.3)
        q.get_batch(0.2)
        subprocess.run(["mv", str(share / "old"), str(share / "new")], check=True)
        subprocess.run(["mv", str(outside / "tree"), str(share / "tree")], check=True)
        time.sleep(0.3)
        # the folder's rename is an event (the baseline follows it); one moved in is not
        renames = [(e.path, e.path2) for e in q.get_batch(0.2) if e.folder]
        assert renames == [(str(share / "old"), str(share / "new"))]
        subprocess.run(["touch", str(share / "new" / "sub" / "b.txt")], check=True)
        deadline = time.monotonic() + 5
        created: list[str] = []
        while time.monotonic() < deadline and not created:
            created = [e.path for e in q.get_batch(0.1) if e.op is Op.CREATE]
        assert created == [str(share / "new" / "sub" / "b.txt")]
        # the subfolders of a folder moved in are watched for reads too
        moved = share / "tree" / "deep" / "m.odt"
        subprocess.run([sys.executable, "-c", READER, str(moved)], check=True)
        assert [e.path for e in _reads(q, 1)] == [str(moved)]
    finally:
        src.stop()
