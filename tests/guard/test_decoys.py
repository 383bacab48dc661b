"""Decoys: placed in every folder, adopted when a crashed run left them, removed on exit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from tests.guard.conftest import guarding

from rempart.guard import decoys


def _decoys_in(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if decoys.is_decoy(str(p)))


def test_place_writes_real_documents_and_adopts_those_already_there(tmp_path: Path) -> None:
    a, b, c = (tmp_path / n for n in "abc")
    for folder in (a, b, c):
        folder.mkdir()
    first = decoys.place([str(a), str(b)])
    assert sorted(first) == sorted(str(f / n) for f in (a, b) for n in decoys.NAMES)
    with zipfile.ZipFile(a / decoys.FIRST) as z:
        assert z.testzip() is None and "word/document.xml" in z.namelist()
    # a run killed before its clean exit left them: the next run watches and removes them too
    (c / decoys.LAST).symlink_to(a / decoys.LAST)  # a link named like one is not adopted
    again = decoys.place([str(a), str(b), str(c)])
    assert sorted(again) == sorted([*first, str(c / decoys.FIRST)])
    decoys.remove(again)
    assert _decoys_in(tmp_path) == [c / decoys.LAST]  # the link, left alone


@pytest.mark.skipif(os.geteuid() != 0, reason="fanotify needs root")
def test_decoys_left_by_a_killed_guard_are_watched_and_removed(share: Path, tmp_path: Path) -> None:
    # the folders a guard watches (not the practice share's own bookkeeping folder)
    folders = [str(p) for p in share.rglob("*") if p.is_dir() and ".rempart" not in str(p)]
    left = decoys.place(folders)  # what a guard killed with SIGKILL leaves behind
    assert left
    with guarding(share, tmp_path) as running:
        # the tripwire knows them: an attacker writing one is frozen and stopped at once
        victim = next(p for p in left if p.endswith(decoys.FIRST))
        code = f"open({victim!r}, 'r+b').write(b'x' * 64); import time; time.sleep(30)"
        proc = subprocess.Popen([sys.executable, "-c", code])
        try:
            deadline = time.monotonic() + 20
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -9, "the process writing a left-over decoy was not stopped"
        assert any(a.actor.pid == proc.pid for a in running.responder.alarms)
    assert _decoys_in(share) == [], "a clean stop removes the decoys it found too"
