"""The share as it was: per file, its format, randomness, size and similarity digest.

Built by walking the share at start (streamed: one file at a time, nothing accumulated
but the records) and kept current as files are written, renamed and deleted. Memory is
bounded: at most `limit` records (default 200,000, about 300 bytes each, so ~60 MB),
the least recently touched forgotten first; a forgotten file is judged on its content
alone, as a new one is.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterator

from rempart.guard.content import Content, read_fd, read_path
from rempart.guard.events import Event, Op

DEFAULT_LIMIT = 200_000
#: folder renames remembered (see `Baseline.folder_renamed`)
_RENAMES = 256


class Baseline:
    def __init__(self, root: str, limit: int = DEFAULT_LIMIT) -> None:
        self.root = root
        self.limit = limit
        self._files: OrderedDict[str, Content] = OrderedDict()
        self.forgotten = 0
        #: (old folder + "/", new folder + "/"), oldest first: the records of the files below a
        #: renamed folder keep their old paths until one is asked for (moving them all at the
        #: rename would cost a scan of the whole baseline per rename: an attacker's lever)
        self._renames: list[tuple[str, str]] = []

    def build(
        self, skip: Callable[[str], bool], progress: Callable[[int], None] | None = None
    ) -> int:
        """Walk the share and remember every regular file; returns the number kept."""
        for n, path in enumerate(_walk(self.root, skip), 1):
            found = read_path(path)
            if found is not None:
                self.put(path, found)
            if progress is not None and n % 100 == 0:
                progress(n)
        return len(self._files)

    def get(self, path: str) -> Content | None:
        found = self._files.get(path)
        if found is not None:
            self._files.move_to_end(path)
        elif self._renames:
            found = self._renamed(path)
        return found

    def folder_renamed(self, old: str, new: str) -> None:
        """The folder `old` is now `new`: its files are known under their new paths."""
        self._renames.append((old.rstrip("/") + "/", new.rstrip("/") + "/"))
        del self._renames[:-_RENAMES]

    def _renamed(self, path: str) -> Content | None:
        """The record of `path` kept under the path it had before folder renames, moved to
        `path` when found (newest rename first: `a` -> `b` then `b` -> `c` finds `a/x`)."""
        was = path
        for old, new in reversed(self._renames):
            if was.startswith(new):
                was = old + was[len(new) :]
        if was == path:
            return None
        found = self._files.pop(was, None)
        if found is not None:
            self.put(path, found)
        return found

    def put(self, path: str, content: Content) -> None:
        self._files[path] = content
        self._files.move_to_end(path)
        while len(self._files) > self.limit:
            self._files.popitem(last=False)
            self.forgotten += 1

    def move(self, old: str, new: str) -> Content | None:
        found = self._files.pop(old, None)
        if found is None and self._renames and self._renamed(old) is not None:
            found = self._files.pop(old, None)
        if found is not None:
            self.put(new, found)
        return found

    def forget(self, path: str) -> Content | None:
        found = self._files.pop(path, None)
        if found is None and self._renames and self._renamed(path) is not None:
            found = self._files.pop(path, None)
        return found

    def apply(self, ev: Event) -> tuple[Content | None, Content | None]:
        """Keep the baseline current with one operation; returns the file's content before
        (as the baseline knew it) and after (read now, for writes and unknown renames)."""
        if ev.op is Op.WRITE:
            before = self.get(ev.path)
            if ev.fd is not None:
                try:
                    after: Content | None = read_fd(ev.fd, os.path.basename(ev.path))
                except OSError:
                    after = None
            else:
                after = read_path(ev.path)
            if after is not None:
                self.put(ev.path, after)
            return before, after
        if ev.op is Op.RENAME and ev.path2:
            moved = self.move(ev.path, ev.path2)
            if moved is not None:
                return moved, None
            # The source was never seen written (or its write is read after the rename, the
            # fd then naming the new path): judge what now sits at the new name.
            now = read_path(ev.path2)
            if now is not None:
                self.put(ev.path2, now)
            return None, now
        if ev.op is Op.DELETE:
            return self.forget(ev.path), None
        return None, None

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, path: object) -> bool:
        return path in self._files


def _walk(root: str, skip: Callable[[str], bool]) -> Iterator[str]:
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:  # a folder we cannot list is not part of the baseline
            continue
        for entry in entries:
            if skip(entry.path):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            elif entry.is_file(follow_symlinks=False):
                yield entry.path
