"""stop-process against real process trees that keep writing files."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rempart.guard.alarm import Alarm
from rempart.guard.respond import _procs
from rempart.guard.respond.process import StopProcess

# A parent that starts 3 children; each of the 4 appends to its own file every 5 ms, and the
# children each start a grandchild doing the same.
WRITER = r"""
import os, subprocess, sys, time
out, depth = sys.argv[1], int(sys.argv[2])
kids = [subprocess.Popen([sys.executable, __file__, out, str(depth + 1)])
        for _ in range(3 if depth == 0 else (1 if depth == 1 else 0))]
with open(os.path.join(out, f"{os.getpid()}.log"), "a") as f:
    while True:
        f.write("x" * 64); f.flush(); time.sleep(0.005)
"""

OPTIONS = {"protect_smbd_master": True, "protect": [], "check_command": True}


@pytest.fixture
def writer_tree(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    script, out = tmp_path / "writer.py", tmp_path / "out"
    script.write_text(WRITER)
    out.mkdir()
    proc = subprocess.Popen([sys.executable, str(script), str(out), "0"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(list(out.iterdir())) < 7 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(list(out.iterdir())) == 7, "the writer tree did not start"
        yield proc, out
    finally:
        for pid in [proc.pid, *_procs.children(proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(5)


def sizes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in out.iterdir()}


def test_whole_tree_stopped_and_nothing_keeps_writing(
    writer_tree: tuple[subprocess.Popen[bytes], Path], alarm_for: Callable[..., Alarm]
) -> None:
    proc, out = writer_tree
    tree = [proc.pid, *_procs.children(proc.pid)]
    assert len(tree) == 7
    responder = StopProcess(OPTIONS)
    alarm = alarm_for(pid=proc.pid, command=_procs.cmdline(proc.pid))
    started = time.monotonic()
    resp = responder.respond(alarm, dry_run=False)
    took = time.monotonic() - started
    assert resp.ok, resp.detail
    assert "7 process(es)" in resp.detail
    assert set(resp.extra["pids"].split(", ")) == {str(p) for p in tree}
    assert took < 0.5
    before = sizes(out)
    time.sleep(0.3)
    assert sizes(out) == before  # none keeps writing
    for pid in tree:
        info = _procs.info(pid)
        assert info is None or info.state == "Z"

    again = responder.respond(alarm, dry_run=False)
    assert again.already_done and again.ok and again.detail == resp.detail


def test_dry_run_lists_the_tree_and_signals_nothing(
    writer_tree: tuple[subprocess.Popen[bytes], Path], alarm_for: Callable[..., Alarm]
) -> None:
    proc, out = writer_tree
    responder = StopProcess(OPTIONS)
    resp = responder.respond(alarm_for(pid=proc.pid), dry_run=True)
    assert resp.ok and resp.dry_run
    assert resp.detail.startswith("would stop and kill 7 process(es)")
    before = sizes(out)
    time.sleep(0.1)
    assert all(sizes(out)[k] > v for k, v in before.items())  # all still writing
    # a dry run is not "done": the real alarm afterwards acts
    assert not responder.respond(alarm_for(pid=proc.pid), dry_run=False).already_done
    assert proc.wait(2) == -signal.SIGKILL


def test_refusals(alarm_for: Callable[..., Alarm], tmp_path: Path) -> None:
    responder = StopProcess(OPTIONS)
    for pid, why in [(1, "PID 1"), (os.getpid(), "the guard itself"), (os.getppid(), "parents")]:
        resp = responder.respond(alarm_for(pid=pid), dry_run=False)
        assert not resp.ok and why in resp.detail, resp.detail
    # a process named smbd whose parent is not smbd: the master, serving every client
    fake = tmp_path / "smbd"
    shutil.copy("/bin/sleep", fake)
    master = subprocess.Popen([str(fake), "30"])
    try:
        resp = responder.respond(alarm_for(pid=master.pid), dry_run=False)
        assert not resp.ok and "smbd's master" in resp.detail
        assert master.poll() is None
        protected = StopProcess({**OPTIONS, "protect": ["sleep"]})
        sleeper = subprocess.Popen(["sleep", "30"])
        try:
            resp = protected.respond(alarm_for(pid=sleeper.pid), dry_run=False)
            assert not resp.ok and "protected by the configuration" in resp.detail
        finally:
            sleeper.kill()
            sleeper.wait()
    finally:
        master.kill()
        master.wait()


def test_pid_reused_since_the_alarm_is_refused(alarm_for: Callable[..., Alarm]) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        alarm = alarm_for(pid=sleeper.pid, command="/usr/bin/python3 encrypt.py")
        resp = StopProcess(OPTIONS).respond(alarm, dry_run=False)
        assert not resp.ok and "not the alarm's process" in resp.detail
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_gone_process_and_missing_pid(alarm_for: Callable[..., Alarm]) -> None:
    done = subprocess.Popen(["true"])
    done.wait()
    resp = StopProcess(OPTIONS).respond(alarm_for(pid=done.pid), dry_run=False)
    assert resp.ok and "already exited" in resp.detail
    resp = StopProcess(OPTIONS).respond(alarm_for(address="10.0.0.2"), dry_run=False)
    assert not resp.ok and "no PID" in resp.detail
