"""Holding Ctrl-C out of the steps a scan must not stop halfway (no database library here).

Kept apart from `_persist` so the scan can protect the import of the database libraries
themselves: an import cut by KeyboardInterrupt leaves half-initialised modules behind
(`sqlalchemy.sql` without `base`), and the store can then no longer be opened to keep what
the interrupted scan had already classified.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def hold_sigint(*, second_forces: bool = False) -> Iterator[None]:
    """Hold Ctrl-C until the block ends, then act on it (KeyboardInterrupt after the block).

    The handler is swapped rather than the signal masked: a Ctrl-C that arrived just before
    the block is only acted on by Python later, and would otherwise still land inside the
    block. With `second_forces`, a second Ctrl-C raises at once: for a block that may wait on
    a server (opening a PostgreSQL store), the user keeps a way out.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        caught.append(signum)
        if second_forces and len(caught) > 1:
            raise KeyboardInterrupt

    old = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
    if caught and callable(old):
        old(signal.SIGINT, None)  # the usual handler: raises KeyboardInterrupt here
