"""A decoy behind a backlog is judged first: a fast attacker is not judged at its own pace."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from rempart.guard.alarm import Alarm
from rempart.guard.engine import Guard, GuardOptions, Hooks, NoResponders
from rempart.guard.events import Event, Op
from rempart.store import open_store


def test_decoy_behind_a_backlog_decides_before_the_backlog_is_analysed(tmp_path: Path) -> None:
    root = tmp_path / "share"
    root.mkdir()
    decoy = root / "!0000 Budget.docx"
    decoy.write_bytes(b"PK\x03\x04" + b"\0" * 200)
    alarms: list[Alarm] = []
    analysed_before_alarm: list[int] = []
    options = GuardOptions(root, sources=["inotify"], place_decoys=False)
    guard = Guard(open_store(f"sqlite:///{tmp_path / 'g.db'}"), options, NoResponders(), Hooks())

    def on_alarm(alarm: Alarm) -> None:
        alarms.append(alarm)
        analysed_before_alarm.append(guard.recorder.events)
        guard.stop()

    guard.hooks = Hooks(alarm=on_alarm)
    guard._decoy_set = frozenset({str(decoy)})
    # The backlog a multi-threaded attacker leaves: 200 files, each with content to analyse,
    # written by one process before it deleted the decoy.
    pid = os.getpid() + 1_000_000  # no such process: the alarm names it without a command
    for i in range(200):
        f = root / f"minutes{i}.txt"
        f.write_text("Compte rendu du conseil municipal.\n" * 40)
        fd = os.open(f, os.O_RDONLY)
        guard.queue.put(Event("test", Op.WRITE, str(f), pid=pid, fd=fd))
    decoy.unlink()
    guard.queue.put(Event("test", Op.DELETE, str(decoy), pid=pid))
    t = threading.Thread(target=guard.run, daemon=True)
    t.start()
    t.join(60)
    assert not t.is_alive()
    assert len(alarms) >= 1
    first = alarms[0]
    assert any("decoy" in r for r in first.reasons), first.reasons
    # judged first: the decoy is the first event recorded, the backlog waits
    assert analysed_before_alarm[0] == 1, analysed_before_alarm
