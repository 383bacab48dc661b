"""Listing what an item holds without following links or touching access times."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rempart.forensics.evidence._errors import AcquisitionError
from rempart.forensics.evidence._hashing import open_readonly


@dataclass(frozen=True)
class Found:
    """A regular file of an item, `rel` relative to the item's parent folder (raw bytes)."""

    rel: bytes
    size: int
    mtime_ns: int
    ctime_ns: int


@dataclass(frozen=True)
class Listing:
    files: list[Found]
    skipped: list[str]  # links, sockets, devices: named in the custody entry, never followed
    tree: bool  # a folder: its files are opened without following links

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


@contextmanager
def opened(
    path: bytes, *, dir_fd: int | None = None, directory: bool = False, follow: bool = True
) -> Iterator[int]:
    try:
        fd = open_readonly(path, dir_fd=dir_fd, directory=directory, follow=follow)
    except OSError as exc:
        shown = path.decode(errors="backslashreplace")
        raise AcquisitionError(f"cannot read {shown}: {exc.strerror}") from exc
    try:
        yield fd
    finally:
        os.close(fd)


def list_item(source: bytes, st: os.stat_result) -> Listing:
    """The regular files of `source` (a file, or a directory walked without following links)."""
    name = os.path.basename(source) or b"root"
    if stat.S_ISREG(st.st_mode):
        return Listing([Found(name, st.st_size, st.st_mtime_ns, st.st_ctime_ns)], [], tree=False)
    files: list[Found] = []
    skipped: list[str] = []
    with opened(source, directory=True) as root_fd:
        pending = [b""]
        while pending:
            rel = pending.pop()
            with opened(rel or b".", dir_fd=root_fd, directory=True) as fd:
                for entry in _entries(fd, source, rel):
                    child = (
                        os.path.join(rel, os.fsencode(entry.name))
                        if rel
                        else os.fsencode(entry.name)
                    )
                    est = entry.stat(follow_symlinks=False)
                    if stat.S_ISDIR(est.st_mode):
                        pending.append(child)
                    elif stat.S_ISREG(est.st_mode):
                        found = Found(
                            os.path.join(name, child), est.st_size, est.st_mtime_ns, est.st_ctime_ns
                        )
                        files.append(found)
                    else:
                        skipped.append(os.path.join(name, child).decode(errors="backslashreplace"))
    files.sort(key=lambda f: f.rel)
    return Listing(files, sorted(skipped), tree=True)


def _entries(fd: int, source: bytes, rel: bytes) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(fd) as it:
            return list(it)
    except OSError as exc:
        shown = os.path.join(source, rel).decode(errors="backslashreplace")
        raise AcquisitionError(f"cannot list {shown}: {exc.strerror}") from exc
