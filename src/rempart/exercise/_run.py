"""The attack loop: files taken in order, paced, encrypted by one or several threads.

Everything drawn from the seed (layouts, keys) is drawn under one lock in attack order, so
a seed gives the same keys whatever the number of threads. Each file is journaled (durably,
one writer at a time) before its behaviour touches it; labels are written as files finish.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from rempart.exercise import _layouts
from rempart.exercise._behaviours import Behaviour, Step
from rempart.exercise._journal import Journal
from rempart.exercise._pace import Pacer
from rempart.exercise._safety import read_nofollow


@dataclass(frozen=True)
class AttackLabel:
    """Ground truth for one attacked file (what scan should find)."""

    path: str  # where the attacked file is now, relative to the root
    original: str  # its path before the attack
    layout: str
    family: str | None
    cipher: str
    behaviour: str = "in-place"


@dataclass(frozen=True)
class Target:
    """One file the attack will encrypt, with everything drawn for it from the seed."""

    index: int  # in attack order, counting skipped files (the pace schedule uses it)
    path: Path
    new: Path
    km: _layouts.KeyMaterial


@dataclass
class Plan:
    """What `attack` decided before the first change."""

    root: Path
    files: list[Path]
    layout: str
    suffix: str
    behaviour: Behaviour
    family: str | None  # whose ransom note is dropped (labels carry it)
    notes: set[Path]  # folders that still need a ransom note
    note_name: str
    note_body: bytes
    sync: bool  # fsync attacked files before they replace originals


class Run:
    """One attack in progress: `run(threads)` attacks every file of the plan."""

    def __init__(
        self,
        plan: Plan,
        journal: Journal,
        rng: random.Random,
        pacer: Pacer,
        labels: IO[str],
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.plan, self.journal, self.rng, self.pacer = plan, journal, rng, pacer
        self.labels, self.progress = labels, progress
        self.lock = threading.Lock()  # the seed, notes, labels and progress: one at a time
        self.stop = threading.Event()
        self.next = 0
        self.done = 0
        self.finished: list[AttackLabel] = []  # in the order files finished
        self.dropped: list[Path] = []
        self.skipped: list[tuple[Path, str]] = []

    def rel(self, path: Path) -> str:
        return path.relative_to(self.plan.root).as_posix() if path != self.plan.root else "."

    def _take(self) -> Target | None:
        with self.lock:
            if self.next >= len(self.plan.files):
                return None
            index, self.next = self.next, self.next + 1
            path = self.plan.files[index]
            layout = _layouts.pick_layout(self.plan.layout, self.rng)
            km = _layouts.new_key_material(layout, self.rng, os.lstat(path).st_size)
            return Target(index, path, path.with_name(path.name + self.plan.suffix), km)

    def _drop_notes(self, path: Path) -> None:
        chain = [path.parent]
        while chain[-1] != self.plan.root:
            chain.append(chain[-1].parent)
        for folder in reversed(chain):
            if folder in self.plan.notes:  # a note in every folder the attack walks through
                self.plan.notes.discard(folder)
                note = folder / self.plan.note_name
                self.journal.durability.write(note, self.plan.note_body, sync=False)
                self.dropped.append(note)

    def _encrypt(self, target: Target) -> None:
        st = os.lstat(target.path)
        data = read_nofollow(target.path)
        n = target.index + 1
        self.journal.append(
            {
                "op": "file",
                "n": n,
                "path": self.rel(target.path),
                "new": self.rel(target.new),
                "behaviour": self.plan.behaviour.name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "atime_ns": st.st_atime_ns,
                "km": target.km.to_json(),
            }
        )
        attacked = _layouts.apply(data, target.km)
        durability = self.journal.durability
        self.plan.behaviour.run(Step(target.path, target.new, attacked, durability, self.plan.sync))
        # undo reads the files' state, not this record: it needs no fsync of its own
        self.journal.append({"op": "done", "n": n}, sync=False)

    def _one(self, target: Target) -> None:
        with self.lock:
            self._drop_notes(target.path)
            clash = target.new != target.path and os.path.lexists(target.new)
            if clash:
                self.skipped.append((target.path, f"{target.new.name} already exists"))
        if not clash:
            self._encrypt(target)
        with self.lock:
            if not clash:
                label = AttackLabel(
                    self.rel(target.new),
                    self.rel(target.path),
                    target.km.layout,
                    self.plan.family,
                    target.km.cipher,
                    self.plan.behaviour.name,
                )
                self.finished.append(label)
                self.labels.write(json.dumps(asdict(label), ensure_ascii=False) + "\n")
                self.labels.flush()
            self.done += 1
            if self.progress:
                self.progress(self.done, len(self.plan.files))

    def _worker(self) -> None:
        while not self.stop.is_set():
            target = self._take()
            if target is None or not self.pacer.wait(target.index, self.stop):
                return
            self._one(target)

    def run(self, threads: int) -> None:
        """Attack every file of the plan with `threads` workers; the first error stops all."""
        if threads == 1:  # in this thread: Ctrl-C and test doubles behave as in a plain loop
            self._worker()
            return
        with ThreadPoolExecutor(threads, thread_name_prefix="rempart-attack") as pool:
            futures = [pool.submit(self._worker) for _ in range(threads)]
            try:
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            finally:  # an error or Ctrl-C: the others finish the file they hold, then stop
                self.stop.set()
            for future in done:
                future.result()  # re-raise the first error
