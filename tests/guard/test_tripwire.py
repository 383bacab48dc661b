"""The tripwire: a local process touching a decoy is frozen before the analysis judges it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.guard.conftest import guarding
from tests.guard.test_guard_local import _attack, _wait_alarm, lost

from rempart.guard import decoys
from rempart.guard.events import Event, Op
from rempart.guard.respond import _procs
from rempart.guard.respond.process import StopProcess
from rempart.guard.tripwire import Tripwire
from rempart.store import open_store
from rempart.store.guard import GuardEvent

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="fanotify needs root")

OPTIONS = {"protect_smbd_master": True, "protect": [], "check_command": True}

# Writes the decoy (given bytes from a file), then, once it could run again, a marker file.
WRITER = r"""
import sys, time
decoy, content, marker = sys.argv[1:4]
data = open(content, "rb").read()
with open(decoy, "wb") as f:
    f.write(data)
time.sleep(0.5)
open(marker, "w").write("still running")
"""


def _write_decoy(tmp_path: Path, share: Path, content: bytes) -> subprocess.Popen[bytes]:
    script, blob = tmp_path / "writer.py", tmp_path / "content.bin"
    script.write_text(WRITER)
    blob.write_bytes(content)
    decoy = share / decoys.FIRST
    assert decoy.exists()
    cmd = [sys.executable, str(script), str(decoy), str(blob), str(tmp_path / "marker")]
    return subprocess.Popen(cmd)


def test_multithreaded_attacker_is_frozen_at_the_decoy(share: Path, tmp_path: Path) -> None:
    with guarding(share, tmp_path) as running:
        proc = _attack(share, "--order", "alpha", "--threads", "4", "--behaviour", "in-place")
        _wait_alarm(running, proc)
        tripwire = running.guard.tripwire
        assert tripwire is not None
        assert proc.returncode == -9, "the attack was not stopped"
        assert tripwire.tripped[:1] == [proc.pid], running.lines
        alarm = running.responder.alarms[0]
        # the notes dropped first may decide before the decoy does: the freeze came first
        assert alarm.actor.pid == proc.pid, alarm
        deadline = time.monotonic() + 10  # the kill lands before `handle` returns its responses
        while not running.responder.responses and time.monotonic() < deadline:
            time.sleep(0.02)
        killed = [r for r in running.responder.responses if r.responder == "stop-process"]
        assert killed and killed[0].ok, killed
    # the decoy sorts first: frozen there, the other threads lose only files already begun
    assert lost(share) <= 6


def test_intact_document_written_onto_a_decoy_is_released(share: Path, tmp_path: Path) -> None:
    with guarding(share, tmp_path) as running:
        proc = _write_decoy(tmp_path, share, decoys.document("Budget primitif"))
        assert proc.wait(30) == 0
        tripwire = running.guard.tripwire
        assert tripwire is not None and tripwire.tripped == [proc.pid], running.lines
        deadline = time.monotonic() + 10
        while not any("released" in line for line in running.lines):
            assert time.monotonic() < deadline, running.lines
            time.sleep(0.05)
    assert running.responder.alarms == []
    assert (tmp_path / "marker").read_text() == "still running"
    with open_store(f"sqlite:///{tmp_path / 'guard.db'}").connect() as db:
        ops = db.execute(select(GuardEvent.op, GuardEvent.pid)).all()
    assert ("frozen-released", proc.pid) in ops


def test_dry_run_does_not_freeze(share: Path, tmp_path: Path) -> None:
    with guarding(share, tmp_path, dry_run=True) as running:
        assert running.guard.tripwire is None
        proc = _write_decoy(tmp_path, share, os.urandom(4096))
        states = []
        while proc.poll() is None:
            if (info := _procs.info(proc.pid)) is not None:
                states.append(info.state)
            time.sleep(0.02)
        assert proc.returncode == 0
        deadline = time.monotonic() + 10
        while not running.responder.alarms:
            assert time.monotonic() < deadline, running.lines
            time.sleep(0.05)
    assert "T" not in states
    stop = [r for r in running.responder.responses if r.responder == "stop-process"]
    assert stop and stop[0].dry_run


def _state(pid: int) -> str:
    time.sleep(0.05)  # a stop or continue lands when the process is next scheduled
    info = _procs.info(pid)
    return info.state if info is not None else "gone"


def test_tripwire_freezes_refuses_and_releases(tmp_path: Path) -> None:
    stopper = StopProcess(OPTIONS)
    for pid in (1, os.getpid(), os.getppid()):
        pids, why = stopper.freeze(pid)
        assert pids == [] and why.startswith("refused"), why
    decoy = str(tmp_path / decoys.FIRST)
    notes: list[str] = []
    wire = Tripwire(str(tmp_path), stopper.freeze, notes.append)
    wire.decoys = frozenset({decoy})
    wire(Event("fanotify", Op.WRITE, decoy, pid=os.getpid()))
    assert wire.tripped == [] and "refused" in notes[0]
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        wire(Event("fanotify", Op.WRITE, str(tmp_path / "other.docx"), pid=child.pid))
        wire(Event("samba-audit", Op.DELETE, decoy, pid=child.pid))
        assert wire.tripped == [] and _state(child.pid) != "T"
        ev = Event("fanotify", Op.RENAME, str(tmp_path / "a.tmp"), decoy, pid=child.pid)
        wire(ev)
        assert wire.tripped == [child.pid] and _state(child.pid) == "T"
        assert wire.settle(lambda _pid: False) == []  # not judged yet: stays frozen
        wire.judged(ev)
        released = wire.settle(lambda _pid: False)
        assert [f.pid for f in released] == [child.pid] and _state(child.pid) != "T"
    finally:
        child.kill()
        child.wait()
