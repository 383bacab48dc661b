"""The guard takes what lives for its whole run out of the cyclic collector's reach: a full
collection holds the GIL, and the tripwire's thread cannot freeze an attacker meanwhile."""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path

from rempart.guard.engine import Guard, GuardOptions, Hooks, NoResponders
from rempart.store import open_store


class _Node:
    me: object = None


def _garbage_cycle() -> weakref.ref[_Node]:
    node = _Node()
    node.me = node  # only the cyclic collector frees it
    return weakref.ref(node)


def test_heap_is_frozen_while_watching_then_released(tmp_path: Path) -> None:
    root = tmp_path / "share"
    root.mkdir()
    (root / "minutes.txt").write_text("Compte rendu du conseil municipal.\n")
    ready = threading.Event()
    options = GuardOptions(root, sources=["inotify"], place_decoys=False)
    hooks = Hooks(ready=lambda _line: ready.set())
    guard = Guard(open_store(f"sqlite:///{tmp_path / 'g.db'}"), options, NoResponders(), hooks)
    thread = threading.Thread(target=guard.run, daemon=True)
    gc.disable()  # only the guard's own collection may free the cycle below
    try:
        cycle = _garbage_cycle()
        thread.start()
        assert ready.wait(30), "the guard never said it was watching"
        # garbage was collected before the freeze, not kept forever; the rest is frozen
        assert cycle() is None
        assert gc.get_freeze_count() > 0
    finally:
        gc.enable()
        guard.stop()
        thread.join(30)
    assert not thread.is_alive()
    assert gc.get_freeze_count() == 0
