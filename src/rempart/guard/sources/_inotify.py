"""inotify fallback (inotify-simple) where fanotify is refused: no PIDs, by-path reads.

inotify says which file changed, never who changed it: alarms then name no process and
only the Samba audit log can attribute writes to an SMB client. Content is read by path
after the close, so a file rewritten again in between is judged on its newer content.
"""

from __future__ import annotations

import os
import time

from inotify_simple import INotify, flags  # type: ignore[import-untyped]

from rempart.guard._errors import SourceUnavailable
from rempart.guard.events import Event, EventQueue, Op
from rempart.guard.sources import SourceOptions
from rempart.guard.sources._thread import SourceThread

_MASK = (
    flags.CLOSE_WRITE
    | flags.CREATE
    | flags.DELETE
    | flags.MOVED_FROM
    | flags.MOVED_TO
    | flags.DONT_FOLLOW
)


class InotifySource(SourceThread):
    name = "inotify"
    blind_spots = "no PIDs (cannot stop a local process; only SMB-audit attribution); no reads"

    def __init__(self, options: SourceOptions, queue: EventQueue) -> None:
        self.queue = queue
        try:
            self.ino = INotify()
        except OSError as exc:
            raise SourceUnavailable(f"inotify refused: {exc.strerror}") from exc
        self.dirs: dict[int, str] = {}
        self._watch_tree(str(options.root))
        self._moves: dict[int, str] = {}  # cookie -> old path, until its MOVED_TO
        self._init_thread()

    def _watch_tree(self, top: str) -> None:
        for dirpath, _dirs, _files in os.walk(top):
            try:
                self.dirs[self.ino.add_watch(dirpath, _MASK)] = dirpath
            except OSError as exc:  # limit reached or folder gone: say it, carry on
                if exc.errno == 28:
                    raise SourceUnavailable(
                        "inotify watch limit reached",
                        hint="raise fs.inotify.max_user_watches",
                    ) from exc

    damaged = 0

    def stop(self) -> None:
        self._join()
        self.ino.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            for ev in self.ino.read(timeout=200):
                self._one(ev, time.monotonic())

    def _one(self, ev: tuple[int, int, int, str], now: float) -> None:
        wd, mask, cookie, name = ev
        if mask & flags.Q_OVERFLOW:
            self.queue.count_kernel_drop()
            return
        base = self.dirs.get(wd)
        if base is None:
            return
        path = os.path.join(base, name)
        if mask & flags.ISDIR:
            if mask & (flags.CREATE | flags.MOVED_TO):
                self._watch_tree(path)
            return
        if mask & flags.CLOSE_WRITE:
            self.queue.put(Event(self.name, Op.WRITE, path, at=now))
        elif mask & flags.CREATE:
            self.queue.put(Event(self.name, Op.CREATE, path, at=now))
        elif mask & flags.DELETE:
            self.queue.put(Event(self.name, Op.DELETE, path, at=now))
        elif mask & flags.MOVED_FROM:
            self._moves[cookie] = path
        elif mask & flags.MOVED_TO:
            old = self._moves.pop(cookie, None)
            if old is None:
                self.queue.put(Event(self.name, Op.CREATE, path, at=now))
            else:
                self.queue.put(Event(self.name, Op.RENAME, old, path, at=now))
