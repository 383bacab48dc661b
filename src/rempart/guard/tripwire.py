"""The tripwire: a local process touching a decoy is frozen (SIGSTOP) before it is judged.

A decoy is recognised by its path alone, so the reader thread (the first code that knows the
PID and the path) can act at once, while the analysis is still behind a backlog of other
threads' files (measured: 4 attacker threads queue hundreds of events, 30-260 ms of wait).
The freeze is reversible and cheap; the analysis then confirms: a decisive decoy change
raises the alarm and `stop-process` kills the frozen tree; anything else (an application
saving an intact document over it) is released with SIGCONT and recorded as such.

Only for local processes: smbd serves every user of a session, an SMB client is blocked
(block-client) instead. Only with `stop-process` enabled and not in dry run: the freeze is
part of that responder's action and uses its refusal rules (PID 1, the guard, its parents,
protected names).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rempart.guard.events import Event, Op
from rempart.guard.indicators import stem

#: freezes `pid`'s tree; returns the PIDs stopped (empty: not frozen) and why
Freezer = Callable[[int], tuple[list[int], str]]
#: a freeze whose event was never judged (the guard stopping, a lost event) is released
_MAX_FROZEN = 10.0


def decoy_of(ev: Event, decoys: frozenset[str], root: str) -> tuple[str, str] | None:
    """The decoy `ev` touches: by its path, a rename onto it, or a temporary copy of it."""
    if not decoys or ev.op is Op.READ:  # reading a decoy (a preview, an antivirus) is fine
        return None
    stem_path = os.path.join(os.path.dirname(ev.path), stem(ev.path))
    for path, how in ((ev.path, "path"), (ev.path2, "target"), (stem_path, "copy")):
        if path in decoys:
            return os.path.relpath(path, root), how
    return None


@dataclass
class Frozen:
    pid: int
    pids: list[int]
    event: Event  # the decoy event that tripped it
    at: float  # time.monotonic()
    judged: bool = False

    def describe(self, root: str) -> str:
        waited = (time.monotonic() - self.at) * 1000
        rel = os.path.relpath(self.event.path, root)
        return f"tripwire: PID {self.pid} frozen at {rel}, released after {waited:.0f} ms"

    def row(self, root: str) -> dict[str, Any]:
        """The `frozen-released` event recorded with the run's other events."""
        return {
            "source": "tripwire",
            "op": "frozen-released",
            "path": os.path.relpath(self.event.path, root),
            "path2": None,
            "actor_key": f"process:{self.pid}",
            "pid": self.pid,
            "address": None,
            "user": None,
            "verdict": None,
            "points": 0,
            "reasons": json.dumps([f"{self.event.op.value} on a decoy: frozen, then released"]),
        }


class Tripwire:
    """Called by the event queue, in the source's thread, for every event before queueing."""

    def __init__(self, root: str, freezer: Freezer, note: Callable[[str], None]) -> None:
        self.root = root
        self.freezer = freezer
        self.note = note
        self.decoys: frozenset[str] = frozenset()
        self._frozen: dict[int, Frozen] = {}
        self._refused: set[int] = set()  # said once per PID
        #: every PID frozen so far, in order (status and tests)
        self.tripped: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, ev: Event) -> None:
        # fanotify alone gives the PID of the writer; audit-log events name smbd's client
        if ev.pid is None or ev.source != "fanotify" or not self.decoys:
            return
        # a create (of a temporary copy) has no content yet: the analysis could only release
        # it; the write that follows trips the wire with something to judge
        if ev.op is Op.CREATE:
            return
        if ev.pid in self._frozen or ev.pid in self._refused:
            return
        if decoy_of(ev, self.decoys, self.root) is None:
            return
        pids, why = self.freezer(ev.pid)
        if not pids:
            if len(self._refused) > 10_000:  # bounded: a reused PID may then be said again
                self._refused.clear()
            self._refused.add(ev.pid)
            self.note(f"tripwire: PID {ev.pid} touched a decoy, not frozen: {why}")
            return
        with self._lock:
            self._frozen[ev.pid] = Frozen(ev.pid, pids, ev, time.monotonic())
            self.tripped.append(ev.pid)
            if len(self.tripped) > 1000:  # bounded: a bulk rewriter of hidden files trips often
                del self.tripped[:500]

    def dropped(self, ev: Event) -> None:
        """The queue dropped `ev`: a freeze it tripped would never be judged."""
        if ev.pid is not None and (f := self._frozen.get(ev.pid)) and f.event is ev:
            self._release(f)

    def judged(self, ev: Event) -> None:
        if ev.pid is not None and (f := self._frozen.get(ev.pid)) and f.event is ev:
            f.judged = True

    def settle(self, alarmed: Callable[[int], bool]) -> list[Frozen]:
        """After a batch: drop the freezes of alarmed PIDs (the responders killed them),
        release those judged harmless or waiting too long; returns the released ones."""
        now = time.monotonic()
        released = []
        with self._lock:
            items = list(self._frozen.values())
        for f in items:
            if f.judged and alarmed(f.pid):
                with self._lock:
                    self._frozen.pop(f.pid, None)
            elif f.judged or now - f.at > _MAX_FROZEN:
                self._release(f)
                released.append(f)
        return released

    def release_all(self) -> list[Frozen]:
        with self._lock:
            items = list(self._frozen.values())
        for f in items:
            self._release(f)
        return items

    def _release(self, f: Frozen) -> None:
        # descendants first, the top last: it resumes once what it waits for can run
        for p in reversed(f.pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGCONT)
        with self._lock:
            self._frozen.pop(f.pid, None)
