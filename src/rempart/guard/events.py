"""What event sources hand to the analysis: one file operation, with who did it if known."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Op(StrEnum):
    WRITE = "write"  # a file closed after writing (content can be analysed)
    CREATE = "create"
    DELETE = "delete"
    RENAME = "rename"  # path -> path2
    #: a file closed without writing (fanotify FAN_CLOSE_NOWRITE, Samba's open for reading):
    #: only its format counts (`behaviour`), nothing is read or recorded
    READ = "read"


@dataclass(frozen=True)
class Event:
    """One file operation under the watched root; paths are absolute."""

    source: str
    op: Op
    path: str
    path2: str | None = None
    pid: int | None = None
    address: str | None = None  # SMB client (samba-audit)
    user: str | None = None
    smbd_pid: int | None = None
    #: an fd on the file as closed (fanotify): read through it, the content cannot change
    #: under us; whoever takes the event from the queue closes it
    fd: int | None = None
    at: float = 0.0  # time.monotonic() when the source saw it
    #: a folder, not a file (fanotify's renames of folders: the baseline follows them)
    folder: bool = False

    def release(self) -> None:
        """Close the event's fd, if any (the event was analysed or dropped)."""
        if self.fd is not None:
            with contextlib.suppress(OSError):  # already closed: nothing to release
                os.close(self.fd)


class EventQueue:
    """A bounded queue between sources and analysis that counts what it had to drop.

    A flood never blocks the kernel reader (that would only move the drop into the kernel,
    where it is counted less precisely) and never drops silently.
    """

    def __init__(self, bound: int = 20_000) -> None:
        self.bound = bound
        self._items: deque[Event] = deque()
        self._cond = threading.Condition()
        self.dropped = 0
        self.kernel_dropped = 0
        #: called with each event before it is queued, in the source's thread (the tripwire)
        self.before_put: Callable[[Event], None] | None = None
        #: called with each event the bound makes it drop
        self.on_drop: Callable[[Event], None] | None = None

    def put(self, event: Event) -> bool:
        if self.before_put is not None:
            self.before_put(event)
        with self._cond:
            if len(self._items) >= self.bound:
                self.dropped += 1
                event.release()
                if self.on_drop is not None:
                    self.on_drop(event)
                return False
            self._items.append(event)
            self._cond.notify()
            return True

    def count_kernel_drop(self, n: int = 1) -> None:
        with self._cond:
            self.kernel_dropped += n

    def get_batch(self, timeout: float, limit: int = 256) -> list[Event]:
        """Up to `limit` events, waiting at most `timeout` seconds for the first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._items:
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._cond.wait(left)
            out: list[Event] = []
            while self._items and len(out) < limit:
                out.append(self._items.popleft())
            return out

    def __len__(self) -> int:
        return len(self._items)
