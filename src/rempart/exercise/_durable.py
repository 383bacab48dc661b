"""Durable writes that also work through a mounted SMB/CIFS share.

Attack and undo rely only on what every filesystem a town hall mounts gives: open with
O_EXCL/O_NOFOLLOW, write, close, rename, unlink, utime. No `st_ino` (a CIFS mount may
number a file anew after a rename), no `os.link`, no O_TMPFILE. fsync is asked for, but a
filesystem that does not support it (EINVAL/ENOTSUP, seen on some network and FUSE mounts)
is tolerated: the first refusal is kept as a warning and durability is then the server's.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

from rempart.exercise._safety import write_new

# fsync errors that mean "not supported here", not "the data is lost" (EIO is never tolerated)
_UNSUPPORTED = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


class Durability:
    """fsync calls that tolerate filesystems without fsync, and the warnings they left."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self._lock = threading.Lock()

    def fsync(self, fd: int, what: str) -> None:
        """fsync `fd`; a filesystem without fsync support gives one warning, not an error."""
        try:
            os.fsync(fd)
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
            self._warn(what, exc)

    def fsync_dir(self, path: Path) -> None:
        """Make renames and deletions in `path` durable, where the filesystem allows it."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED and exc.errno != errno.EACCES:
                raise
            self._warn("folders", exc)
            return
        try:
            self.fsync(fd, "folders")
        finally:
            os.close(fd)

    def _warn(self, what: str, exc: OSError) -> None:
        with self._lock:  # one warning per kind of target, however many files
            if not any(w.startswith(f"fsync of {what} ") for w in self.warnings):
                self.warnings.append(
                    f"fsync of {what} not supported here ({exc.strerror}): "
                    "durability after a power cut depends on the file server"
                )

    def write(self, path: Path, data: bytes, *, exclusive: bool = True, sync: bool = True) -> None:
        """Write `data` to a new file (O_EXCL unless told, never through a symlink)."""
        write_new(
            path, data, exclusive=exclusive, sync=sync, fsync=lambda fd: self.fsync(fd, "files")
        )
